# The two commands of the README. Both build the virtual environment first, so each
# works on a fresh machine with nothing but Python 3.11+ installed.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
OUT    ?= out

.PHONY: run test venv bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

venv: $(BIN)/python
	$(BIN)/pip install -q -e .

run: venv
	$(BIN)/rsilab forecast --out $(OUT)

test: $(BIN)/python
	$(BIN)/pip install -q -e ".[test,experiments,sweep]"
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q

bench: venv
	for f in benchmarks/bench_*.py; do $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) $(OUT) build *.egg-info src/*.egg-info
