# Two commands do everything:  make demo  (set up + run the demo)   make test  (set up + tests)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test install lock lint clean

$(BIN)/modelwatch: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[airflow,dev,celery]'
	touch $@

install: $(BIN)/modelwatch

demo: install
	$(BIN)/modelwatch demo

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check plugins dags tests benchmarks

# Refresh the lock after changing dependencies in pyproject.toml (see README).
lock:
	rm -rf /tmp/modelwatch-lock && $(PYTHON) -m venv /tmp/modelwatch-lock
	/tmp/modelwatch-lock/bin/pip install -q --upgrade pip
	/tmp/modelwatch-lock/bin/pip install -q -e '.[airflow,dev,celery]'
	/tmp/modelwatch-lock/bin/pip freeze --exclude-editable > constraints.txt

clean:
	rm -rf .modelwatch
