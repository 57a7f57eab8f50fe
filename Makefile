# `make demo` and `make test` install what they need: a pinned moto and Ansible in the
# git-ignored .venv/, and (as root, with apt) openssh-server and iproute2 for the real hosts.
# Nothing has to be installed by hand beyond Rust and Python 3.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
VENV_STAMP := $(VENV)/.installed-$(shell sha256sum requirements-dev.txt | cut -c1-16)

.PHONY: demo test lint build tools system-deps bench install

demo: tools system-deps build
	scripts/demo.sh

test: tools system-deps
	cargo build --locked --workspace --bins
	rm -rf target/figures
	cargo test --locked --workspace
	scripts/check-clean.sh
	@echo "== reliability figures =="; cat target/figures/*.txt

lint:
	cargo fmt --all --check
	cargo clippy --locked --workspace --all-targets -- -D warnings

build:
	cargo build --locked --workspace --bins

system-deps:
	scripts/system-deps.sh

tools: $(VENV_STAMP)

$(VENV_STAMP): requirements-dev.txt
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# The release binary, its shell completions and its man page, under $(DESTDIR)$(PREFIX).
PREFIX ?= /usr/local
install:
	cargo build --locked --release --bin manage
	install -Dm755 target/release/manage $(DESTDIR)$(PREFIX)/bin/manage
	install -d $(DESTDIR)$(PREFIX)/share/bash-completion/completions \
		$(DESTDIR)$(PREFIX)/share/zsh/site-functions \
		$(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d \
		$(DESTDIR)$(PREFIX)/share/man/man1
	target/release/manage completions bash > $(DESTDIR)$(PREFIX)/share/bash-completion/completions/manage
	target/release/manage completions zsh > $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_manage
	target/release/manage completions fish > $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/manage.fish
	target/release/manage man > $(DESTDIR)$(PREFIX)/share/man/man1/manage.1

# Wall times of the main actions on the emulator with real hosts (root). Not part of `test`.
bench: tools system-deps build
	scripts/bench.sh $(BENCH)
