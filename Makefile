# entra.licensing: every command a developer or CI needs. `make test` and `make demo` install what they need.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(abspath $(VENV))/bin
STAMP := $(VENV)/.installed
# Debian packages the tests need (Samba AD DC for the on-premises directory, Chromium to look at the HTML report).
SYS_PACKAGES ?= samba samba-dsdb-modules samba-vfs-modules samba-ad-provision iproute2 chromium
COLLECTIONS := $(abspath build/collections)
STAGE := $(COLLECTIONS)/ansible_collections/entra/licensing
GET_PIP_CACHE := $(HOME)/.ansible/test/cache
# Pin the interpreter for localhost runs: interpreter discovery can pick a broken pyenv shim.
export ANSIBLE_PYTHON_INTERPRETER := $(BIN)/python
export ANSIBLE_COLLECTIONS_PATH := $(abspath .tmp/collections)
export PATH := $(BIN):$(PATH)

.PHONY: help
help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 14

.PHONY: sysdeps
sysdeps:  ## install the Debian packages the tests need (when run as root)
	@missing=""; for p in $(SYS_PACKAGES); do dpkg -s "$$p" >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "apt-get install$$missing"; export DEBIAN_FRONTEND=noninteractive; \
	    apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else echo "missing Debian packages:$$missing (run make as root, or install them)"; exit 1; fi; \
	fi

$(STAMP): requirements-dev.txt simulator/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements-dev.txt
	$(BIN)/pip install -q -e simulator
	touch $@

.PHONY: venv
venv: $(STAMP)  ## create .venv with the pinned development requirements and the simulator

.tmp/collections/ansible_collections/entra/licensing:
	mkdir -p $(dir $@)
	ln -sfn $(CURDIR) $@

.PHONY: collection-path
collection-path: .tmp/collections/ansible_collections/entra/licensing

.PHONY: lint
lint: venv collection-path  ## ruff and ansible-lint (production profile)
	$(BIN)/ruff check .
	$(BIN)/ansible-lint --profile production --offline

.PHONY: unit
unit: venv collection-path  ## unit tests of the collection and the simulator's own tests
	$(BIN)/pytest -q -n 2 tests/unit simulator/tests

.PHONY: integration
integration: venv sysdeps collection-path  ## playbook-level tests against the simulator (and Samba)
	$(BIN)/pytest -q -n 2 tests/integration

$(GET_PIP_CACHE)/get_pip_24_2.py: tools/ansible-test-get-pip.py
	mkdir -p $(GET_PIP_CACHE)
	$(BIN)/pip download -q --no-deps pip==24.2 -d $(GET_PIP_CACHE)
	cp $< $@

.PHONY: stage
stage: venv  ## copy the collection as it ships to build/collections for ansible-test
	rm -rf $(STAGE) build/dist && mkdir -p $(STAGE) build/dist
	$(BIN)/ansible-galaxy collection build --force --output-path build/dist . >/dev/null
	tar -xzf build/dist/entra-licensing-*.tar.gz -C $(STAGE)
	# ansible-test lists files with git, and build/ is ignored by this repository: give the copy its own index.
	cd $(STAGE) && git init -q && echo tests/output/ >> .git/info/exclude && git add -A

.PHONY: sanity
sanity: venv stage $(GET_PIP_CACHE)/get_pip_24_2.py  ## ansible-test sanity on the staged collection
	cd $(STAGE) && ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS) $(BIN)/ansible-test sanity --venv --python 3.11 --color no

.PHONY: test
test: lint unit integration sanity docs  ## everything CI runs

.PHONY: bench
bench: venv collection-path  ## benchmarks on the simulator: round trips and writes beside the naive approach
	$(BIN)/python -m benchmarks.bench_members
	$(BIN)/python -m benchmarks.bench_report
	$(BIN)/python -m benchmarks.bench_plan

.PHONY: demo
demo: venv sysdeps collection-path  ## the story end to end on the simulator and a Samba AD DC, run twice (the second changes nothing)
	$(BIN)/python tools/demo.py

DOCS := build/docs
.PHONY: docs
docs: venv collection-path  ## the collection's antsibull-docs site, built offline with warnings as errors (build/docs/build/html)
	rm -rf $(DOCS) && mkdir -p $(DOCS)
	$(BIN)/antsibull-docs sphinx-init --use-current --dest-dir $(DOCS) entra.licensing >/dev/null
	# Offline: no intersphinx inventories to fetch (they would fail the -W build), references into them left unresolved.
	printf '%s\n' '' 'intersphinx_mapping = {}' "suppress_warnings = ['ref.ref']" >> $(DOCS)/conf.py
	$(DOCS)/build.sh
	$(BIN)/antsibull-docs lint-collection-docs --plugin-docs .

.PHONY: catalog
catalog: venv  ## regenerate the SKU catalogue from ../shared/data (Microsoft's product and service plan table)
	$(BIN)/python tools/generate_sku_catalog.py

.PHONY: clean
clean:  ## remove build output (keeps .venv)
	rm -rf build .tmp tests/output
