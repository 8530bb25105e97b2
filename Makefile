# The two commands of the README's quick start: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-data check lint docs bench data screenshots clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,docs]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/datafix demo

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks examples docs

# Real Fashion-MNIST images for the tests of torchvision's FashionMNIST (Debian's package; installed
# when missing and this is root on Debian, else those tests say why they skip).
FMNIST := /usr/share/datasets/fashion-mnist
test-data:
	@test -d $(FMNIST) || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q dataset-fashion-mnist >/dev/null; } || \
		echo "note: $(FMNIST) missing (make data as root installs it); the Fashion-MNIST tests will skip"

# The tests, then the documentation site: building it runs every example of the gallery.
test: lint test-data
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q --doctest-modules src/datafix tests
	$(MAKE) docs

# The fast inner loop: ruff, then the tests not marked slow (no Ray cluster, no CNN training, no
# documentation build), within 3 minutes on 2 cores. `make test` runs everything, as CI does.
check: lint
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q -m "not slow" --doctest-modules src/datafix tests

# The site in docs/_build/html. Strict: warnings are errors, cross-references nitpicky; a broken
# reference, an example that raises, or a public name without an example fails it by name.
docs: $(STAMP)
	$(BIN)/python -m sphinx -E -W --keep-going -n -q -b html docs docs/_build/html
	@echo "documentation: docs/_build/html/index.html"

bench: $(STAMP)
	$(BIN)/python benchmarks/label_issues.py

# What benchmarks and the report screenshots need beyond the test setup (Debian; run as root):
# Fashion-MNIST's 70,000 real images, R's mlbench tables, a headless Chromium, and the benchmarks'
# Python extra (pyproject's `bench`: pyreadr reads the mlbench tables, kornia and cleanlab's
# Datalab are the peers).
data: $(STAMP)
	apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q dataset-fashion-mnist r-cran-mlbench chromium
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[bench]'

screenshots: $(STAMP)
	$(BIN)/python docs/make_screenshots.py

clean:
	rm -rf $(VENV) build dist .pytest_cache .ruff_cache src/*.egg-info docs/_build docs/auto_examples docs/api/generated docs/sg_execution_times.rst
