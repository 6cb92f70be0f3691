# The two commands of the README: `make serve` and `make test`. Both set everything up on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install serve test test-fast browser clean

install: $(STAMP)

# torch is installed first and pinned, so pip takes the CPU build instead of a multi-GB CUDA one; every other
# package gets the version this build was tested with (constraints.txt), so a new release cannot change results.
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

serve: install
	HF_HUB_OFFLINE=1 $(BIN)/bayqa serve

browser:
	bash scripts/install-browser

test: install browser
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: install
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -m "not integration" $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) index/CURRENT index/gen-* index/write.lock index/jobs.sqlite* index/parsed.sqlite*
