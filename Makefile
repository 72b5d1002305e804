# The two commands: `make demo` and `make test` (as root on Debian: they provision all).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
IVR := $(VENV)/bin/ivr
STAMP := $(VENV)/.installed

.PHONY: demo test lint unit e2e bench bench-escalation bench-soak bench-sip bench-ami bench-agi bench-takeover sandbox-up sandbox-down sandbox-peer-up sandbox-peer-down system-deps postgres clean

# Installer steps print one line each; their output goes to $(INSTALL_LOG) (shown on failure).
INSTALL_LOG := var/install.log
QUIET := INSTALL_LOG=$(INSTALL_LOG) bash scripts/quiet.sh

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || $(QUIET) "installing python3 (apt)" bash -c 'apt-get update -qq && apt-get install -y -qq python3'
	@$(QUIET) "python venv $(VENV)" bash -c '$(PYTHON) -m venv $(VENV) || { apt-get update -qq && apt-get install -y -qq python3-venv && $(PYTHON) -m venv $(VENV); }'
	@$(QUIET) "pip: upgrading pip" $(PY) -m pip install -q --upgrade pip
	@$(QUIET) "pip: installing ivr and its dependencies" $(PY) -m pip install -q -e '.[dev]'
	@touch $(STAMP)

system-deps:
	@$(QUIET) "Debian packages (apt)" bash scripts/system-deps.sh

sandbox-up: $(STAMP) system-deps
	@$(QUIET) "Asterisk sandbox up" $(IVR) sandbox up

sandbox-down: $(STAMP)
	$(IVR) sandbox down

# The second Asterisk (HA tests): a copy of the sandbox in network namespace ivr-ast2.
sandbox-peer-up: sandbox-up
	@$(QUIET) "second Asterisk up (namespace ivr-ast2)" $(IVR) sandbox up --peer

sandbox-peer-down: $(STAMP)
	$(IVR) sandbox down --peer

postgres:
	@bash scripts/postgres.sh

demo: sandbox-up
	$(IVR) demo

lint: $(STAMP)
	$(VENV)/bin/ruff check ivr tests
	$(VENV)/bin/ruff format --check ivr tests
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache

test: lint sandbox-up postgres
	IVR_REQUIRE_ASTERISK=1 $(VENV)/bin/pytest -q -p no:cacheprovider -n 2 --durations=30

unit: $(STAMP)
	$(VENV)/bin/pytest -q tests/unit

# Every benchmark, even when one misses its targets; fails if any did. BENCH_ARGS go to
# the burst benchmark, ESCALATION_ARGS to the escalation one, SOAK_ARGS to the soak,
# SIP_ARGS to the SIP one, AMI_ARGS to the AMI ingest one (it needs no Asterisk), AGI_ARGS
# to the AGI one, TAKEOVER_ARGS to the takeover one (it needs PostgreSQL too).
bench: sandbox-up postgres
	status=0; \
	$(PY) -m tests.bench.burst $(BENCH_ARGS) || status=1; \
	$(PY) -m tests.bench.escalation $(ESCALATION_ARGS) || status=1; \
	$(PY) -m tests.bench.soak $(SOAK_ARGS) || status=1; \
	$(PY) -m tests.bench.sip $(SIP_ARGS) || status=1; \
	$(PY) -m tests.bench.ami_ingest $(AMI_ARGS) || status=1; \
	$(PY) -m tests.bench.agi $(AGI_ARGS) || status=1; \
	$(PY) -m tests.bench.takeover $(TAKEOVER_ARGS) || status=1; \
	exit $$status

bench-escalation: sandbox-up
	$(PY) -m tests.bench.escalation $(ESCALATION_ARGS)

bench-soak: sandbox-up
	$(PY) -m tests.bench.soak $(SOAK_ARGS)

bench-sip: sandbox-up
	$(PY) -m tests.bench.sip $(SIP_ARGS)

bench-ami: $(STAMP)
	$(PY) -m tests.bench.ami_ingest $(AMI_ARGS)

bench-agi: sandbox-up
	$(PY) -m tests.bench.agi $(AGI_ARGS)

bench-takeover: sandbox-up postgres
	$(PY) -m tests.bench.takeover $(TAKEOVER_ARGS)

clean: sandbox-down
