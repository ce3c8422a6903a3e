# journey — build, run, test, bench. Every target installs the Debian packages it needs when missing.
SWIFT ?= swift
DEBS := libsqlite3-dev libedit-dev pkg-config sqlite3 tmux curl
JOURNEY := .build/release/journey

.PHONY: deps pydeps testdeps build run test bench clean demo fuzz

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
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(CI_FUZZ_SECONDS)

# libFuzzer on three targets (docs/RELIABILITY.md): the language (lexer, parser, planner on a real catalog), a
# statement run on a small generated store, and the CSV importer — each for FUZZ_SECONDS from the committed seeds
# in Tests/fuzz/ (copied to a temp dir: what the fuzzer adds stays out of the repo). A finding fails the target
# and keeps its input (the path is printed). `make test` runs a short pass (CI_FUZZ_SECONDS each).
FUZZ_SECONDS ?= 600
CI_FUZZ_SECONDS ?= 60
fuzz: deps
	$(SWIFT) build --scratch-path .build-fuzz --sanitize=fuzzer --product FuzzTarget
	@dir=$$(mktemp -d -t journey-fuzz.XXXXXX); rc=0; \
	for m in language run import; do \
	  seeds=Tests/fuzz/$$m; [ -d $$seeds ] || seeds=Tests/fuzz/language; \
	  mkdir -p $$dir/$$m; cp $$seeds/* $$dir/$$m/; \
	  if JOURNEY_FUZZ=$$m SWIFT_BACKTRACE=enable=no .build-fuzz/debug/FuzzTarget -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
	       -rss_limit_mb=3072 -artifact_prefix=$$dir/$$m- $$dir/$$m > $$dir/$$m.log 2>&1; then \
	    echo "fuzz $$m: $$(grep -E '^Done' $$dir/$$m.log) — no crash, no sanitizer report, no hang"; \
	  else rc=1; echo "fuzz $$m FOUND something (input kept in $$dir):"; tail -40 $$dir/$$m.log; fi; \
	done; \
	if [ $$rc = 0 ]; then rm -rf $$dir; fi; exit $$rc

bench: build
	python3 -m pip install -q duckdb chdb >/dev/null 2>&1 || echo "warning: could not install duckdb/chdb from PyPI"
	python3 bench/import_bench.py --journey $(JOURNEY)
	python3 bench/query_bench.py --journey $(JOURNEY)
	python3 bench/attribution_bench.py --journey $(JOURNEY)
	python3 bench/ties_bench.py --journey $(JOURNEY) --customers 200000
	python3 bench/value_bench.py --journey $(JOURNEY)
	python3 bench/model_bench.py --journey $(JOURNEY)
	python3 bench/cancel_bench.py --journey $(JOURNEY)
	python3 bench/scale_bench.py --journey $(JOURNEY)
	@command -v clickhouse-server >/dev/null 2>&1 || { echo "installing: clickhouse-server"; (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clickhouse-server) >/dev/null || echo "warning: could not install clickhouse-server"; }
	python3 bench/clickhouse_bench.py --journey $(JOURNEY)

clean:
	rm -rf .build datasets/demo/demo.journey*
