# One entry point for people and CI. Every target installs what it needs first.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PYTEST_ARGS ?=
# The suite runs on every core (pytest-xdist); each worker starts its own PostgreSQL.
PYTEST_WORKERS ?= auto

# Demo defaults for `make run`: embedded SQLite, the lock vendors' sandboxes (Resivo, Salto KS) mounted in the app.
export IRESERVE_SANDBOX ?= true
export RESIVO_ALLOW_PRIVATE_BASE_URL ?= true

.PHONY: install run test bench i18n schema trusted-documents vendor clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# Compiled catalogs are build output (not committed): built from the .po files when they change.
CATALOGS := $(wildcard i18n/*/LC_MESSAGES/messages.po)
COMPILED := $(CATALOGS:.po=.mo)

i18n/%/LC_MESSAGES/messages.mo: i18n/%/LC_MESSAGES/messages.po $(STAMP)
	$(BIN)/pybabel compile -i $< -o $@

install: $(STAMP) $(COMPILED)

# Extract messages from the code, merge them into every catalog, compile.
i18n: $(STAMP)
	$(BIN)/python -m addon.base.i18n_catalogs i18n/messages.pot
	$(BIN)/pybabel update --no-fuzzy-matching -i i18n/messages.pot -d i18n
	$(BIN)/pybabel compile -d i18n --statistics

run: install
	$(BIN)/ireserve db upgrade
	$(BIN)/ireserve seed
	$(BIN)/ireserve user ensure-demo
	$(BIN)/ireserve token create --role admin --name make-run --replace
	$(BIN)/ireserve serve

test: install
	IRESERVE_SANDBOX=false $(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

bench: install
	$(BIN)/python -m bench.run $(BENCH_ARGS)

schema: install
	$(BIN)/ireserve schema > graphql/schema.graphql

# The manifest of trusted documents: the hash of each file of graphql/operations/. Rebuild it
# after changing an operation (a test fails while it is out of date).
trusted-documents: $(STAMP)
	$(BIN)/python -m addon.base.trusted_documents

# Refresh the vendored browser files (GraphiQL, React) from the npm registry at the versions pinned
# in addon/base/vendoring.py; needs npm. The files are committed: running the app needs nothing.
vendor: $(STAMP)
	$(BIN)/python -m addon.base.vendoring

clean:
	rm -rf $(VENV) var .pytest_cache
