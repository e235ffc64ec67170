# Two commands for a fresh machine with Python >= 3.10:
#   make lab    install everything into .venv and open the course in JupyterLab
#   make test   install the test dependencies into .venv and run the whole suite
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
PIP     = $(BIN)/python -m pip --disable-pip-version-check -q

.PHONY: lab test e2e install lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip

$(VENV)/.installed-lab: pyproject.toml | $(BIN)/python
	$(PIP) install -e ".[lab]"
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(PIP) install -e ".[test,lab]"
	touch $@

install: $(VENV)/.installed-lab

lab: $(VENV)/.installed-lab
	$(BIN)/smtpkit lab

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest
	$(BIN)/python -m kit release --check
	$(BIN)/python -m pytest -p no:cacheprovider --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg solutions
	$(BIN)/python -m pytest -p no:cacheprovider --nbval-lax --nbval-current-env notebooks

e2e: $(VENV)/.installed-test
	$(BIN)/python -m pytest -p no:cacheprovider tests/e2e

lint: $(VENV)/.installed-test
	$(BIN)/ruff check kit tests benchmarks

bench: $(VENV)/.installed-test
	$(BIN)/python benchmarks/throughput.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
