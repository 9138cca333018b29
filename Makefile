# mldeploy - two commands on a fresh machine (Python 3.11, pip, apt):
#   make demo   install, then run the main job on the embedded default
#   make test   install, then run the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | sha256sum | cut -c1-12)

TOOLS  ?= .venv-tools
CHECKOV := $(TOOLS)/bin/checkov

.PHONY: install lock lock-tools tools demo test synth clean system-packages test-packages models

# The build backend (setuptools) is pinned in pyproject.toml [build-system]: the isolated environment pip builds
# mldeploy in reads no constraints file (mldeploy/plan/versions.py BUILD_BACKEND says why and what was measured).
# constraints.txt: every package of the virtualenv at one version (pip's own too), the direct dependencies at
# the dated table's (plan/versions.py DEPLOY_PACKAGES, what `mldeploy init` pins in a project): the tests run
# what users deploy with, and a fresh clone installs the same set as long as PyPI keeps the files.
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -c constraints.txt pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[runtime,test,reload]'
	touch $(STAMP)

install: $(STAMP) system-packages

# Rewrite constraints.txt from the virtualenv (tests/lock.py), after a changed pin and `make install`.
lock: $(STAMP)
	$(BIN)/python -m tests.lock

# checkov's pins clash with pulumi's (packaging <24 vs >=26): it gets a virtualenv of its own.
# Not part of `install` (what a deploying user runs: docs/deploying.md; checkov took 3 min and
# 291 MB here): `make tools` for the tests that run it (tests/render, tests/tools.py), `make test` too.
tools: $(CHECKOV)

# tools-constraints.txt: every package of that virtualenv at one version (checkov's checks change between
# releases); `make lock-tools` rewrites it from .venv-tools.
$(CHECKOV): tools-constraints.txt
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet -c tools-constraints.txt pip
	$(TOOLS)/bin/pip install --quiet -c tools-constraints.txt 'checkov>=3.2,<4'
	touch $(CHECKOV)

lock-tools: $(STAMP) $(CHECKOV)
	$(BIN)/python -m tests.lock --tools $(TOOLS)

# nginx (the gateway) and wrk (benchmarks) come from Debian; installed only when missing.
# podman + runc run the container tests (tests/containers/), mmdebstrap makes their base images.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
system-packages:
	@{ command -v nginx && command -v wrk; } >/dev/null 2>&1 || { \
	  echo "installing nginx (the local gateway) and wrk (bench/, tests/bench/) with apt-get"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq nginx-light wrk >/dev/null; }
	@{ command -v podman && command -v runc && command -v mmdebstrap; } >/dev/null 2>&1 || \
	  ! command -v apt-get >/dev/null 2>&1 || { \
	  echo "installing podman, runc and mmdebstrap (the container tests) with apt-get"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq podman runc mmdebstrap >/dev/null; }

# What only the test suite uses: shellcheck (actionlint runs it on the workflows' scripts,
# tests/test_workflows.py), haproxy (bench/scoring_proxies.py's smoke run, tests/bench) and procps's
# ps (serve's pid check without /proc, tests/runtime/test_local.py).
test-packages:
	@{ command -v shellcheck && command -v haproxy && command -v ps; } >/dev/null 2>&1 || \
	  ! command -v apt-get >/dev/null 2>&1 || { \
	  echo "installing shellcheck, haproxy and procps (the test suite) with apt-get"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq shellcheck haproxy procps >/dev/null; }

# Both model versions the example stacks register (version 2: stack managed's green deployment).
MODELS := examples/diabetes/outputs/sklearn_regression_model.pkl examples/diabetes/outputs/v2/sklearn_regression_model.pkl
$(MODELS) &: examples/diabetes/train.py $(STAMP)
	$(BIN)/python examples/diabetes/train.py
# The batching example (stack forest): a 300-tree random forest on the same data.
FOREST_MODEL := examples/forest/outputs/forest.pkl
$(FOREST_MODEL): examples/forest/train.py $(STAMP)
	$(BIN)/python examples/forest/train.py

# Every model the example stacks name (the pull-request workflow's diff and preview jobs).
models: $(MODELS) $(FOREST_MODEL)

# The embedded default: serve the local stack (scorer + gateway on 127.0.0.1), score the guide's
# two-row sample through the gateway, print the predictions, stop every process.
demo: install $(MODELS)
	$(BIN)/python -m mldeploy.runtime.demo .

test: install test-packages $(CHECKOV) $(MODELS) $(FOREST_MODEL)
	CHECKOV=$(CURDIR)/$(CHECKOV) $(BIN)/python -m pytest

clean:
	rm -rf build .mldeploy examples/*/outputs $(TOOLS)
