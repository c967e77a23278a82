# One command sets up and runs the main job (`make report`), one sets up and runs the
# tests (`make test`). The set-up is a virtualenv in .venv with torch pinned to the CPU
# wheel (constraints.txt); it is redone only when pyproject.toml or constraints.txt change.

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: setup test report bench clean

$(BIN)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $@

setup: $(BIN)/.installed

test: setup
	$(BIN)/python -m pytest -q

report: setup
	$(BIN)/archprof profile mobilenet_v1
	$(BIN)/archprof profile mobilenet_v1 --format json --output reports/mobilenet_v1.json
	@echo "wrote reports/mobilenet_v1.json"

bench: setup
	$(BIN)/python benchmarks/count_vs_trace.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
