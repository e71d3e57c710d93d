# Crewlog developer commands. `make run` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
INSTANCE ?= instance
RECEIVER_PORT ?= 5055
RECEIVER_TOKEN ?= demo-agency-token
PORT ?= 5000

# The local reference receiver plays the state; the app syncs to it.
RUN_ENV = CREWLOG_SERVER_INSTANCE_PATH=$(INSTANCE) \
	CREWLOG_DATABASE_PATH=$(INSTANCE)/crewlog.sqlite \
	CREWLOG_SECURITY_SECURE_COOKIES=false \
	CREWLOG_SYNC_ENABLED=true \
	CREWLOG_SYNC_ENDPOINT=http://127.0.0.1:$(RECEIVER_PORT) \
	CREWLOG_SYNC_TOKEN=$(RECEIVER_TOKEN) \
	CREWLOG_SYNC_AGENCY_ID=ST-DEMO-0001 \
	CREWLOG_SYNC_MAX_BACKOFF_S=30 \
	CREWLOG_AGENCY_ID=ST-DEMO-0001

.PHONY: install run test lint bench clean

$(BIN)/crewlog: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(BIN)/crewlog

install: $(BIN)/crewlog

run: install
	@test -f $(INSTANCE)/crewlog.sqlite || { $(RUN_ENV) $(BIN)/crewlog init && $(RUN_ENV) $(BIN)/crewlog demo --encounters 200; }
	@$(RUN_ENV) $(BIN)/crewlog receiver --port $(RECEIVER_PORT) --db $(INSTANCE)/receiver.sqlite \
		--token $(RECEIVER_TOKEN):ST-DEMO-0001 & echo $$! > $(INSTANCE)/receiver.pid
	@$(BIN)/python -c "import socket,time; any(socket.socket().connect_ex(('127.0.0.1',$(RECEIVER_PORT)))==0 or time.sleep(0.2) for _ in range(50))"
	@echo "Reference state receiver on http://127.0.0.1:$(RECEIVER_PORT)/"
	@echo "Crewlog on http://127.0.0.1:$(PORT)/  (demo users: $(INSTANCE)/demo-users.txt)"
	@trap 'kill $$(cat $(INSTANCE)/receiver.pid) 2>/dev/null' EXIT INT TERM; \
		$(RUN_ENV) $(BIN)/crewlog serve --host 127.0.0.1 --port $(PORT)

test: install
	$(BIN)/pytest -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check app forms sync tests bench
	$(BIN)/mypy

bench: install
	$(BIN)/python bench/forms_bench.py
	$(BIN)/python bench/api_load.py
	$(BIN)/python bench/sync_bench.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
