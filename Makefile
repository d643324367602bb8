# SocialNet: two commands matter. `make run` starts everything, `make test` checks everything.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
DJANGO := cd api/socialnet && ../../$(BIN)/python manage.py

.PHONY: run env test reliability lint format migrate demo bench clean help

help:
	@echo "make run    start SocialNet (embedded: SQLite, no Redis; full mode when DATABASE_URL/REDIS_URL are set)"
	@echo "make test   lint, migration check and the whole test suite (needs PostgreSQL and Redis)"
	@echo "make reliability  the long runs: Schemathesis (100 examples per operation, three callers), faults, a short load"
	@echo "make demo   fill the database with a demo network"
	@echo "make env    create this checkout's .env with random secrets (make run does it too; docker compose needs it)"
	@echo "make format apply ruff formatting and autofixes"

$(BIN)/.installed: requirements-dev.txt api/requirements.txt api_gateway/requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "SocialNet needs Python 3.11 or newer (set PYTHON=/path/to/python3.11)")'
	@test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	@echo "Installing dependencies into $(VENV) (first run only)..."
	@$(BIN)/pip install --quiet --disable-pip-version-check --upgrade pip
	@$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

run: $(BIN)/.installed
	@bash scripts/run.sh

# Random secrets for this checkout (gitignored .env): manage.py, the workers, the gateway and docker compose read it.
env:
	@$(PYTHON) scripts/ensure_env.py

# makemigrations --check runs against an in-memory SQLite: it compares models with migration files, no server needed.
# lint-imports checks the layer contracts of .importlinter (an app never imports one above it).
test: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	cd api/socialnet && PYTHONPATH=.:../../api_gateway ../../$(BIN)/lint-imports ../../.importlinter
	cd api/socialnet && DATABASE_URL=sqlite://:memory: DJANGO_SETTINGS_MODULE=config.settings_test ../../$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/pytest $(PYTEST_ARGS)

# Bounded fuzzing and fault runs are part of `make test`; these are the long ones (tests/reliability/,
# docs/testing.md), then a short load run that reconciles what it wrote (bench/load.py, docs/benchmarks.md).
reliability: $(BIN)/.installed
	RELIABILITY_EXAMPLES=$${RELIABILITY_EXAMPLES:-100} RELIABILITY_FAULTS=$${RELIABILITY_FAULTS:-full} \
		$(BIN)/pytest -m reliability tests/reliability $(PYTEST_ARGS)
	$(BIN)/python bench/load.py --start --clients 10 --seconds 10

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	cd api/socialnet && PYTHONPATH=.:../../api_gateway ../../$(BIN)/lint-imports ../../.importlinter

format: $(BIN)/.installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrate: $(BIN)/.installed
	$(DJANGO) migrate

clean:
	rm -rf $(VENV) api/socialnet/db.sqlite3 test-artifacts
