# Two commands on a fresh machine: `make demo` and `make test`. Each creates or refreshes
# .venv and installs exactly what it needs; nothing is installed by hand or at run time.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install --disable-pip-version-check -q -c constraints.txt
DEPS := pyproject.toml setup.py constraints.txt

.PHONY: demo test lint format bench-engine clean help i18n

help:
	@echo "make demo   - install the edge + server extras and run the end-to-end demo"
	@echo "make test   - install everything and run the test suite (ruff + pytest)"
	@echo "make lint   - ruff check + format check + import contracts (tools/lint_imports.py)"
	@echo "make i18n   - extract, update and compile the review page's translations"

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q --upgrade pip setuptools wheel

# One stamp per set of extras: re-installs when the dependency files change.
$(VENV)/.stamp-demo: $(DEPS) | $(PY)
	$(PIP) -e ".[edge,server]"
	touch $@

$(VENV)/.stamp-test: $(DEPS) | $(PY)
	$(PIP) -e ".[edge,server,train,dev,openvino]"
	bash tools/install-browser.sh
	touch $@

demo: $(VENV)/.stamp-demo
	$(VENV)/bin/streetwatch demo

test: $(VENV)/.stamp-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) tools/lint_imports.py
	$(VENV)/bin/pytest

lint: $(VENV)/.stamp-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) tools/lint_imports.py

format: $(VENV)/.stamp-test
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# The review page's catalogue: extract the strings, merge them into each language's .po (translate
# the new msgstr there), compile the .mo. Both .po and .mo are committed; a test checks they agree.
I18N := cases/locale
i18n: $(VENV)/.stamp-test
	$(VENV)/bin/pybabel extract -F cases/babel.cfg -k N_ --no-location --sort-output --omit-header -o $(I18N)/messages.pot cases
	$(VENV)/bin/pybabel update -D messages -i $(I18N)/messages.pot -d $(I18N) --ignore-obsolete --no-fuzzy-matching -w 120
	$(VENV)/bin/pybabel compile -D messages -d $(I18N) --statistics

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache
