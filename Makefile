# The two commands of the README. Both build the virtual environment first, so each
# works on a fresh machine with nothing but Python 3.11+ installed.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
OUT    ?= out

.PHONY: run test test-quick venv bench clean vendor-plotly

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

venv: $(BIN)/python
	$(BIN)/pip install -q -e .

run: venv
	$(BIN)/rsilab forecast --out $(OUT)

test: $(BIN)/python
	$(BIN)/pip install -q -e ".[test,experiments,sweep,stats]"
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q

# the quick run: the suite without the tests marked slow (CI runs the whole suite: make test)
test-quick: $(BIN)/python
	$(BIN)/pip install -q -e ".[test,experiments,sweep,stats]"
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q -m "not slow"

# The plotly.js bundle the report and the playground ship (src/rsilab/report/vendor/README.md):
# fetched with npm pack, checked against the registry's integrity hash, recorded in plotly.json.
PLOTLY_VERSION ?= 4.1.1
VENDOR = src/rsilab/report/vendor
vendor-plotly:
	set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	pkg=plotly.js-basic-dist-min@$(PLOTLY_VERSION); \
	(cd "$$tmp" && npm pack --silent "$$pkg" >/dev/null); \
	tgz=$$(ls "$$tmp"/*.tgz); \
	want=$$(npm view "$$pkg" dist.integrity); tarball=$$(npm view "$$pkg" dist.tarball); \
	got=sha512-$$(openssl dgst -sha512 -binary "$$tgz" | base64 -w0); \
	test "$$want" = "$$got" || { echo "integrity mismatch: $$got, the registry says $$want"; exit 1; }; \
	tar xzf "$$tgz" -C "$$tmp"; \
	cp "$$tmp/package/plotly-basic.min.js" $(VENDOR)/plotly-basic.min.js; \
	cp "$$tmp/package/LICENSE" $(VENDOR)/plotly-LICENSE; \
	$(PYTHON) -c 'import hashlib, json, sys; p = sys.argv[1]; d = json.load(open(p)); \
	d.update(version=sys.argv[2], tarball=sys.argv[3], integrity=sys.argv[4], \
	sha256=hashlib.sha256(open(sys.argv[5], "rb").read()).hexdigest()); \
	open(p, "w").write(json.dumps(d, indent=2) + "\n")' \
	  $(VENDOR)/plotly.json $(PLOTLY_VERSION) "$$tarball" "$$want" $(VENDOR)/plotly-basic.min.js

bench: venv
	for f in benchmarks/bench_*.py; do $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) $(OUT) build *.egg-info src/*.egg-info
