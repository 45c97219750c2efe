# The two commands: `make demo` and `make test`. Both set up what they need first.
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python

.PHONY: setup demo demo-teller test bench lint clean

setup:
	@bash scripts/setup.sh

demo: setup
	@bash scripts/demo.sh

# The same demo as a bank-branch teller terminal (teller T0001 / teller-pass-1, supervisor S0001 / super-pass-1).
demo-teller: setup
	@HPF_KIOSK__TERMINAL__ROLE=teller HPF_KIOSK__TERMINAL__BRANCH=QZ-B001 HPF_KIOSK__TERMINAL__CHANNEL=bank_counter \
	  bash scripts/demo.sh

test: setup
	@bash scripts/test.sh $(ARGS)

bench: setup
	@$(PY) -m bench

clean:
	rm -rf $(VENV) var build *.egg-info .pytest_cache
