# `make demo` and `make test` install what they need: a pinned moto (and Ansible) in the
# git-ignored .venv/. Nothing has to be installed by hand beyond Rust and Python 3.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
VENV_STAMP := $(VENV)/.installed-$(shell sha256sum requirements-dev.txt | cut -c1-16)

.PHONY: demo test lint build tools

demo: tools build
	scripts/demo.sh

test: tools
	cargo test --locked --workspace

lint:
	cargo fmt --all --check
	cargo clippy --locked --workspace --all-targets -- -D warnings

build:
	cargo build --locked

tools: $(VENV_STAMP)

$(VENV_STAMP): requirements-dev.txt
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@
