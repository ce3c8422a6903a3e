# journey — build, run, test, bench. Every target installs the Debian packages it needs when missing.
SWIFT ?= swift
DEBS := libsqlite3-dev libedit-dev pkg-config sqlite3 tmux
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

# Headless Chromium renders an HTML report in the tests.
testdeps:
	@dpkg -s chromium >/dev/null 2>&1 || { echo "installing: chromium"; (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null || echo "warning: could not install chromium (the HTML report test will fail)"; }

test: deps pydeps testdeps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --parallel

bench: build
	python3 -m pip install -q duckdb chdb >/dev/null 2>&1 || echo "warning: could not install duckdb/chdb from PyPI"
	python3 bench/import_bench.py --journey $(JOURNEY)
	python3 bench/query_bench.py --journey $(JOURNEY)
	python3 bench/attribution_bench.py --journey $(JOURNEY)
	python3 bench/ties_bench.py --journey $(JOURNEY) --customers 200000

clean:
	rm -rf .build datasets/demo/demo.journey*
