# One command sets up and runs the main job (`make report`), one sets up and runs the
# tests (`make test`). The set-up is a virtualenv in .venv with torch pinned to the CPU
# wheel (constraints.txt); it is redone only when pyproject.toml or constraints.txt change.

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: setup browser lint test report bench clean

$(BIN)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $@

setup: $(BIN)/.installed

# The browser test drives Debian's Chromium with its ChromeDriver; installed here when
# missing and we may (root with apt-get, as in CI), else that one test is skipped.
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing chromium and chromium-driver (Debian) for the browser test"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	else echo "note: chromium/chromedriver not found: the browser test will be skipped"; fi

# Lint, format and types first (seconds), then the tests.
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: setup browser lint
	$(BIN)/python -m pytest -q

report: setup
	$(BIN)/archprof compare mobilenet_v1 vgg16 --csv reports/mobilenet_v1_vs_vgg16.csv

bench: setup
	for script in benchmarks/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
