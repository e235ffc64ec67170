# Two commands for a fresh machine with Python >= 3.10:
#   make lab    install everything into .venv and open the course in JupyterLab
#   make test   install the test dependencies into .venv and run the whole suite
# The German course (Schnellstart): make lab-de opens it, JupyterLab in German too.
#   make solutions-de  release the German notebooks and execute the German instructor notebooks
#   make test-de       check the German edition (catalogs complete, notebooks in sync, nbval)
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
PIP     = $(BIN)/python -m pip --disable-pip-version-check -q
# pytest-xdist: two workers, each test file on one worker (its module fixtures, servers and
# kernels stay together); WORKERS=0 runs everything in this process.
WORKERS ?= 2
XDIST   = -n $(WORKERS) --dist loadfile

.PHONY: lab lab-de test test-de solutions-de e2e install lint bench clean

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

lab-de: $(VENV)/.installed-lab
	$(BIN)/smtpkit lab --lang de

# The whole suite: the tests, the release in sync (both languages), every notebook under nbval
# (instructor notebooks with their outputs compared, student notebooks lax), English then German.
# The seminar deck (solutions/deck) is assembled and run by tests/test_present*.py.
test: $(VENV)/.installed-test
	$(BIN)/python -m pytest $(XDIST)
	$(BIN)/python -m kit release --check --lang en
	$(BIN)/python -m pytest -p no:cacheprovider $(XDIST) --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg --ignore=solutions/de --ignore=solutions/deck solutions
	$(BIN)/python -m pytest -p no:cacheprovider $(XDIST) --nbval-lax --nbval-current-env --ignore=notebooks/de notebooks
	$(MAKE) test-de

test-de: $(VENV)/.installed-test
	$(BIN)/python -m kit release --check --lang de
	SMTPKIT_LANG=de $(BIN)/python -m pytest -p no:cacheprovider $(XDIST) --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg solutions/de
	SMTPKIT_LANG=de $(BIN)/python -m pytest -p no:cacheprovider $(XDIST) --nbval-lax --nbval-current-env notebooks/de

# Release the German notebooks, then execute the German instructor notebooks in place (their
# outputs in German where the kit speaks); `release --check` compares their sources, not outputs.
solutions-de: $(VENV)/.installed-test
	$(BIN)/python -m kit release --lang de
	SMTPKIT_LANG=de $(BIN)/jupyter nbconvert --to notebook --execute --inplace \
		--ExecutePreprocessor.timeout=600 solutions/de/*.ipynb

e2e: $(VENV)/.installed-test
	$(BIN)/python -m pytest -p no:cacheprovider tests/e2e

lint: $(VENV)/.installed-test
	$(BIN)/ruff check kit tests benchmarks

bench: $(VENV)/.installed-test
	$(BIN)/python benchmarks/throughput.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
