VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.mmgmconv-installed

.PHONY: install test demo

install: $(STAMP)

$(STAMP): setup.py tools/setup_env.sh
	VENV=$(VENV) bash tools/setup_env.sh
	touch $@

test: $(STAMP)
	$(PY) -m pytest -q tests
