# The two commands: `make demo` and `make test`. Both set up what they need first.
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python

.PHONY: setup demo test bench lint clean

setup:
	@bash scripts/setup.sh

demo: setup
	@bash scripts/demo.sh

test: setup
	@bash scripts/test.sh $(ARGS)

bench: setup
	@$(PY) -m bench

clean:
	rm -rf $(VENV) var build *.egg-info .pytest_cache
