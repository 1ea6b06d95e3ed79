# NexaFi — every set-up step lives here, so a fresh clone needs only `make run` / `make test`.
SHELL := /bin/bash
PYTHON_BIN ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
BUF := node_modules/.bin/buf
VENV_STAMP := $(VENV)/.installed
NPM_STAMP := node_modules/.installed
PROTO_FILES := $(shell find proto/nexafi -name '*.proto' | sort)

.PHONY: help venv tools gen check-gen lint test test-fast run bench verify-books breaking train rotate-keys create-admin lock clean \
	k8s check-k8s browser lock-runtime image k8s-apiserver-check test-clocks test-clock

help:
	@echo "make run        start the whole mesh and Envoy (embedded PostgreSQL unless DATABASE_URL is set)"
	@echo "make test       set everything up and run the whole test suite"
	@echo "make test-clocks  the suite with the clock pinned to a Tuesday and a Sunday at 02:00, 12:00, 20:00 UTC"
	@echo "make test-clock AT=\"2026-12-08 02:00Z\"  the suite with the clock pinned to one instant"
	@echo "make lint       ruff (lint and format check), mypy and buf lint"
	@echo "make gen        regenerate gen/ from proto/"
	@echo "make bench      run the benchmarks and print figures"
	@echo "make verify-books  check the books of a running stack (ledger, payments, loans)"
	@echo "make breaking   buf breaking against main"
	@echo "make train      retrain the AI models into services/ai/models"
	@echo "make k8s        regenerate the Kubernetes manifests under k8s/"
	@echo "make image      build the image (k8s/Dockerfile) with buildah: IMAGE=nexafi:dev"
	@echo "make k8s-apiserver-check  kubectl apply -k both overlays to a kube-apiserver 1.20 built here"

$(VENV_STAMP): pyproject.toml requirements.lock
	@command -v $(PYTHON_BIN) >/dev/null || { echo "need $(PYTHON_BIN)"; exit 1; }
	test -x $(PY) || $(PYTHON_BIN) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	@# Put the repository and gen/ on the venv's path (what an editable install would do).
	$(PY) -c "import site,os; open(os.path.join(site.getsitepackages()[0],'nexafi.pth'),'w').write(os.getcwd()+'\n'+os.path.join(os.getcwd(),'gen')+'\n')"
	touch $@

venv: $(VENV_STAMP)

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

tools: venv $(NPM_STAMP)

gen: venv
	$(PY) -m services.devtools.protogen gen
	$(PY) -m services.deploy.k8s

# The generated Kubernetes files (k8s/base, k8s/components/autoscaling, k8s/overlays/dev/generated).
k8s: venv
	$(PY) -m services.deploy.k8s

check-k8s: venv
	$(PY) -m services.deploy.k8s --check

# The image, with buildah (root; a local Debian base when python:3.11-slim cannot be pulled).
# node_modules: the documentation page's Swagger UI files go into the image.
image: $(NPM_STAMP)
	bash k8s/scripts/image.sh

# Not part of `make test`: builds kube-apiserver 1.20 from Debian's source package (cached under
# .data/k8s-apiserver), starts it with etcd on loopback and applies both overlays (k8s/README.md).
k8s-apiserver-check: venv
	$(PY) -m services.deploy.apiserver_check

check-gen: venv
	$(PY) -m services.devtools.protogen check

lint: tools
	$(VENV)/bin/ruff check services tests
	$(VENV)/bin/ruff format --check services tests
	$(VENV)/bin/mypy services tests/benchmarks
	$(BUF) lint

# Debian's Chromium for the documentation page's test in a real headless browser (nothing on
# PyPI ships a browser): installed with apt-get when missing, as root or through sudo.
browser:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium; \
	  elif command -v sudo >/dev/null; then sudo apt-get update -qq && sudo apt-get install -y -qq --no-install-recommends chromium; \
	  else echo "chromium is not installed and apt-get needs root: the browser test will be skipped"; fi; }

test: tools browser
	$(PY) -m pytest -q

# The suite under a pinned wall clock (every process, through a patched libfaketime built from
# PyPI's source by services/devtools/faketime/build.sh): no test may depend on the day or the hour.
# PYTEST_ARGS adds pytest arguments (paths, --basetemp=...). Not part of `make test`.
FAKETIME_LIB := .data/faketime/libfaketime.so.1
CLOCK_INSTANTS := "2026-12-08 02:00Z" "2026-12-08 12:00Z" "2026-12-08 20:00Z" \
	"2026-12-13 02:00Z" "2026-12-13 12:00Z" "2026-12-13 20:00Z"

$(FAKETIME_LIB): services/devtools/faketime/build.sh services/devtools/faketime/requirements.txt services/devtools/faketime/libfaketime-0.9.10.patch | venv
	PY=$(PY) bash services/devtools/faketime/build.sh $@

test-clocks: tools browser $(FAKETIME_LIB)
	PY=$(PY) bash services/devtools/faketime/run.sh $(FAKETIME_LIB) $(CLOCK_INSTANTS)

test-clock: tools browser $(FAKETIME_LIB)
	@test -n "$(AT)" || { echo 'usage: make test-clock AT="2026-12-08 02:00Z"'; exit 2; }
	PY=$(PY) bash services/devtools/faketime/run.sh $(FAKETIME_LIB) "$(AT)"

test-fast: tools
	$(PY) -m pytest -q -m "not slow"

run: tools
	$(PY) -m services.devtools.devstack

bench: tools
	$(PY) -m tests.benchmarks

# Check the ledger's invariants and reconcile payments and loans with it (services must run).
verify-books: venv
	$(PY) -m services.ops verify-books

breaking: tools
	$(BUF) breaking --against '.git#branch=main'

train: venv
	$(PY) -m services.ai.training --out services/ai/models

rotate-keys: venv
	$(PY) -m services.user.cli rotate-keys

# Usage: make create-admin USERNAME=root EMAIL=root@example.com (the password is read from stdin).
create-admin: venv
	$(PY) -m services.user.cli create-admin --username "$(USERNAME)" --email "$(EMAIL)" --password-stdin

lock: venv
	$(PY) -m pip freeze --exclude-editable > requirements.lock

# The image's lock: requirements-runtime.in resolved within requirements.lock, with hashes, pip and
# setuptools pinned, and opencv-python (replaced by opencv-python-headless) left out.
lock-runtime: venv
	CUSTOM_COMPILE_COMMAND="make lock-runtime" $(VENV)/bin/pip-compile --quiet --generate-hashes --strip-extras \
	  --no-emit-index-url --no-emit-find-links --unsafe-package opencv-python \
	  --constraint requirements.lock --output-file requirements-runtime.lock requirements-runtime.in

clean:
	rm -rf $(VENV) node_modules .data .pytest_cache .mypy_cache .ruff_cache
