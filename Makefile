# journey — build, run, test, bench. Every target installs the Debian packages it needs when missing.
SWIFT ?= swift
DEBS := libsqlite3-dev libedit-dev pkg-config sqlite3 tmux curl
JOURNEY := .build/release/journey

.PHONY: deps pydeps testdeps build run test bench clean demo

deps:
	@missing=""; for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing) >/dev/null || \
	  { echo "could not install$$missing (run as root, or install them yourself)"; exit 1; }; \
	fi

build: deps
	$(SWIFT) build -c release --product journey

# The shell on the demo dataset (its store is built from datasets/demo on first use).
run: build
	$(JOURNEY)

# Python packages the cross-checks use (channelattribution for the Markov removal effects, chdb for windowFunnel).
pydeps:
	@python3 -c "import ChannelAttribution, matplotlib, chdb" >/dev/null 2>&1 || \
	  python3 -m pip install -q channelattribution matplotlib pandas chdb >/dev/null 2>&1 || \
	  echo "warning: could not install channelattribution or chdb from PyPI (the Markov and windowFunnel cross-checks will fail)"

# Headless Chromium renders an HTML report in the tests; two ClickHouse servers answer the backend's tests.
testdeps:
	@dpkg -s chromium >/dev/null 2>&1 || { echo "installing: chromium"; (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null || echo "warning: could not install chromium (the HTML report test will fail)"; }
	@command -v clickhouse-server >/dev/null 2>&1 || { echo "installing: clickhouse-server"; (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clickhouse-server) >/dev/null || echo "warning: could not install clickhouse-server (the ClickHouse tests will fail)"; }

# The tests run with two ClickHouse servers on free loopback ports (a 2-shard cluster), started here from
# configs in a temp dir and stopped at the end by their pids, whatever the tests' outcome.
test: deps pydeps testdeps
	$(SWIFT) build --build-tests
	@dir=$$(mktemp -d -t journey-ch.XXXXXX); \
	Tests/clickhouse/servers.sh start $$dir/ch >/dev/null || echo "warning: the ClickHouse servers did not start (the ClickHouse tests will fail)"; \
	if [ -f $$dir/ch/env ]; then set -a; . $$dir/ch/env; set +a; fi; \
	$(SWIFT) test --skip-build --parallel; rc=$$?; \
	Tests/clickhouse/servers.sh stop $$dir/ch; rm -rf $$dir; exit $$rc

bench: build
	python3 -m pip install -q duckdb chdb >/dev/null 2>&1 || echo "warning: could not install duckdb/chdb from PyPI"
	python3 bench/import_bench.py --journey $(JOURNEY)
	python3 bench/query_bench.py --journey $(JOURNEY)
	python3 bench/attribution_bench.py --journey $(JOURNEY)
	python3 bench/ties_bench.py --journey $(JOURNEY) --customers 200000
	python3 bench/value_bench.py --journey $(JOURNEY)
	python3 bench/model_bench.py --journey $(JOURNEY)
	@command -v clickhouse-server >/dev/null 2>&1 || { echo "installing: clickhouse-server"; (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clickhouse-server) >/dev/null || echo "warning: could not install clickhouse-server"; }
	python3 bench/clickhouse_bench.py --journey $(JOURNEY)

clean:
	rm -rf .build datasets/demo/demo.journey*
