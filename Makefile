# One entry point for people and CI. Every target installs what it needs first.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# What `make install` installs: the runtime, build and test packages, pinned with hashes.
LOCK   := requirements/test.txt
PYTEST_ARGS ?=
# The suite runs on every core (pytest-xdist); each worker starts its own PostgreSQL.
PYTEST_WORKERS ?= auto

# Demo defaults for `make run`: embedded SQLite, the lock vendors' sandboxes (Resivo, Salto KS) mounted in the app.
export IRESERVE_SANDBOX ?= true
export RESIVO_ALLOW_PRIVATE_BASE_URL ?= true

.PHONY: install lock system-deps run test simulate bench i18n schema trusted-documents vendor clean

# Everything comes from the lock file, checked against its hashes (see `make lock`), then the
# project itself without dependencies; `pip check` stops here when pyproject.toml asks for a
# package the lock lacks. Done again only when the lock or pyproject.toml changed.
$(STAMP): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check
	touch $(STAMP)

# Compiled catalogs are build output (not committed): built from the .po files when they change.
CATALOGS := $(wildcard i18n/*/LC_MESSAGES/messages.po)
COMPILED := $(CATALOGS:.po=.mo)

i18n/%/LC_MESSAGES/messages.mo: i18n/%/LC_MESSAGES/messages.po $(STAMP)
	$(BIN)/pybabel compile -i $< -o $@

install: $(STAMP) $(COMPILED)

# Refresh the lock files from pyproject.toml with uv (see tools/lock.sh); UPGRADE=1 moves every pin
# to the newest release allowed. Needs the package index; `make install` then installs the result.
lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	test -x $(BIN)/uv || $(BIN)/python -m pip install --quiet 'uv>=0.9,<1'
	UV=$(BIN)/uv PYTHON=$(BIN)/python UPGRADE=$(UPGRADE) tools/lock.sh

# Extract messages from the code, merge them into every catalog, compile.
i18n: $(STAMP)
	$(BIN)/python -m addon.base.tools.i18n_catalogs i18n/messages.pot
	$(BIN)/pybabel update --no-fuzzy-matching -i i18n/messages.pot -d i18n
	$(BIN)/pybabel compile -d i18n --statistics

run: install
	$(BIN)/ireserve db upgrade
	$(BIN)/ireserve seed
	$(BIN)/ireserve user ensure-demo
	$(BIN)/ireserve token create --role admin --name make-run --replace
	$(BIN)/ireserve serve

# What the suite needs from the system (PostgreSQL's server, Chromium, promtool): installed with
# apt-get when missing and running as root, else one line names the command and make stops at once.
system-deps:
	@tools/system-deps.sh

# The import contracts (pyproject.toml, [tool.importlinter]) first: a broken one fails the run.
test: system-deps install
	$(BIN)/lint-imports --no-cache
	IRESERVE_SANDBOX=false $(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

# A long search for schedules of changes and faults that break door access (README, "Proving it
# converges"): SIMULATE_EXAMPLES schedules, split over SIMULATE_SHARDS processes; prints what it tried.
SIMULATE_EXAMPLES ?= 20000
SIMULATE_SHARDS ?= $(shell nproc 2>/dev/null || echo 2)
simulate: install
	rm -rf var/simulate
	SIMULATE_EXAMPLES=$(SIMULATE_EXAMPLES) SIMULATE_SHARDS=$(SIMULATE_SHARDS) SIMULATE_REPORT_DIR=var/simulate \
		IRESERVE_SANDBOX=false $(BIN)/python -m pytest -n $(SIMULATE_SHARDS) -q -k sqlite tests/door_access/test_simulation.py
	$(BIN)/python -m tests.door_access.simulation var/simulate

bench: install
	$(BIN)/python -m bench.run $(BENCH_ARGS)

schema: install
	$(BIN)/ireserve schema > graphql/schema.graphql

# The manifest of trusted documents: the hash of each file of graphql/operations/. Rebuild it
# after changing an operation (a test fails while it is out of date).
trusted-documents: $(STAMP)
	$(BIN)/python -m addon.base.tools.trusted_documents

# Refresh the vendored browser files (GraphiQL, React) from the npm registry at the versions pinned
# in addon/base/tools/vendoring.py; needs npm. The files are committed: running the app needs nothing.
vendor: $(STAMP)
	$(BIN)/python -m addon.base.tools.vendoring

clean:
	rm -rf $(VENV) var .pytest_cache
