# Two entry points that work on a fresh machine: `make demo` and `make test` (both create .venv and install).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow bench soak venv clean image-test

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,ner]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/anonpipe demo --data-dir ./data/demo
	$(BIN)/anonpipe report --data-dir ./data/demo --out ./data/demo/report.html

# CI's target: everything but the `slow` reliability runs (kill -9, broker outage/loss), which take minutes each.
test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider -m "not slow"

# The crash and broker-outage reliability tests, kill tests of scale-out and the sink included (about 7 minutes): run before a release and after touching
# ingest, kanon state or the sinks.
test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider -m slow

BENCHMARKS := benchmarks/pseudonymize.py benchmarks/kanon.py benchmarks/lake_sink.py benchmarks/extract_adult.py benchmarks/text_pii.py benchmarks/erasure.py
BENCHMARKS += benchmarks/cli_startup.py
BENCHMARKS += benchmarks/one_event.py benchmarks/ingest_offline.py

bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,ner,bench]'
	@for b in $(BENCHMARKS); do echo "== $$b"; OPENBLAS_NUM_THREADS=1 $(BIN)/python $$b || exit 1; done

soak: $(STAMP)
	$(BIN)/python benchmarks/soak.py

# Not part of `make test`: builds the container image and runs it with podman (root; installs podman with apt).
image-test: $(STAMP)
	PYTHON=$(BIN)/python bash deploy/image-test.sh $(if $(IMAGE_TEST_ARGS),$(IMAGE_TEST_ARGS),--compose)

clean:
	rm -rf $(VENV) data .pytest_cache
