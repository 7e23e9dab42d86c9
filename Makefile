# FaceLoop: `make demo` to see it work, `make test` to check it. Both set up .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export FACELOOP_HOME ?= $(CURDIR)/.faceloop
export DAGSTER_HOME ?= $(FACELOOP_HOME)/dagster
export DEEPFACE_HOME ?= $(FACELOOP_HOME)
export TF_CPP_MIN_LOG_LEVEL ?= 2
DAGSTER_PORT ?= 3000
APP_PORT ?= 7860
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install weights library browser postgres tools demo test lint bench-accuracy clean

$(BIN)/.installed: pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c requirements.lock -e ".[dev]"
	touch $@

install: $(BIN)/.installed

weights: install
	$(BIN)/python -m resources.face_engine.weights

library: install
	@if [ -z "$$(ls -A $(FACELOOP_HOME)/library 2>/dev/null)" ]; then \
		$(BIN)/python -m tests.support.sample_library --target $(FACELOOP_HOME)/library; \
	else echo "library $(FACELOOP_HOME)/library already has photos"; fi

$(DAGSTER_HOME)/dagster.yaml: deploy/dagster.yaml
	mkdir -p $(DAGSTER_HOME)
	cp deploy/dagster.yaml $@

# The real headless browser for tests/gradio_app/test_browser.py: Debian's package, never a
# download by `playwright install`.
browser:
	@test -x /usr/bin/chromium || ($(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends chromium)

# The real PostgreSQL server for Dagster's storage in the tests (tests/support/postgres_server.py starts a
# throwaway cluster with it): Debian's package, like the browser.
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || ($(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends postgresql)

TOOLS := .venv-tools
# checkov (the security scan in tests/deploy) pins tabulate<0.10, which conflicts with
# requirements.lock: it gets its own venv, installed from its own lock.
$(TOOLS)/bin/checkov: tests/deploy/checkov-requirements.lock
	test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install -q -r tests/deploy/checkov-requirements.lock
	touch $@

tools: $(TOOLS)/bin/checkov

# The last line runs as make's own child (no shell in between), so Ctrl+C and a SIGTERM to make
# both reach gradio_app.launch.demo, which stops the app and `dagster dev` (webserver, daemon, code
# servers) within 10 s and leaves nothing running (tests/gradio_app/launch/test_demo_stop.py).
demo: weights library $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/dagster asset materialize --select '*' -f definitions.py
	$(BIN)/python -m gradio_app.launch.demo --dagster-port $(DAGSTER_PORT) --app-port $(APP_PORT)

lint: install
	$(BIN)/ruff check .

test: install lint browser postgres tools
	$(BIN)/python -m pytest

bench-accuracy: weights
	$(BIN)/python -m bench.accuracy --json

clean:
	rm -rf $(FACELOOP_HOME)
