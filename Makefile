# villenum — two commands set everything up on a fresh Debian machine with Python 3.11:
#   make demo    run the whole chain on the embedded Biarritz data (ARGS=--no-serve to stop after the files)
#   make test    run the test suite
# Both create .venv, install villenum (editable) with what it needs and, when run as root,
# apt-install the system packages (nftables, snmpd, chromium, ...) that are missing.
# A second run skips what is already done.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.villenum-installed
APT_PACKAGES := nftables dnsmasq-base snmpd snmp chromium fonts-liberation iproute2 conntrack iputils-ping
ARGS ?=
PYTEST_ARGS ?=

.PHONY: demo test bench lint system-packages clean

demo: system-packages $(STAMP)
	$(BIN)/villenum demo $(ARGS)

test: system-packages $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/pytest $(PYTEST_ARGS)

bench: system-packages $(STAMP)
	@set -e; for bench in benchmarks/bench_*.py; do \
		echo "== $$bench"; $(BIN)/python $$bench; \
	done

lint: $(STAMP)
	$(BIN)/ruff check .

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools wheel

$(STAMP): $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test,notebooks]'
	touch $(STAMP)

# Only root can apt-install; others get a hint and the tests that need those tools skip.
system-packages:
	@missing=""; for pkg in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$pkg 2>/dev/null | grep -q "ok installed" || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "apt-get install:$$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
		else \
			echo "note: missing system packages (install as root):$$missing"; \
		fi; \
	fi

clean:
	rm -rf $(VENV) out build *.egg-info
