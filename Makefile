# Entry points of frugalclip. The README lists what each target does.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.frugalclip-installed

DATA ?=
MODEL ?=
NAME ?=
PI ?=
ARGS ?=

.PHONY: setup test demo export bench deploy test-arm64 clean

setup: $(STAMP)

# torch first, pinned: the machine's local CPU wheel. A bare "torch" pulls a CUDA build of several GB.
$(STAMP): host/pyproject.toml device/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e "device[test,energy,opencv]" -e "host[test]"
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest $(ARGS)

demo: $(STAMP)
	$(BIN)/frugalclip export --name demo --fallback-tiny $(if $(DATA),--data $(DATA)) $(if $(MODEL),--model $(MODEL)) $(ARGS)

export: $(STAMP)
	$(BIN)/frugalclip export $(if $(DATA),--data $(DATA)) $(if $(MODEL),--model $(MODEL)) $(if $(NAME),--name $(NAME)) $(ARGS)

# On the workstation, `frugalclip bench run` adds the naive baseline and the machine ceiling to
# the same result; on a Pi, where only the device package is installed, the device suite runs alone.
bench: $(STAMP)
	if $(BIN)/python -c "import frugalclip_host" 2>/dev/null; then \
	  $(BIN)/frugalclip bench run $(if $(MODEL),--model $(MODEL)) $(if $(DATA),--data $(DATA)) $(ARGS); \
	else \
	  $(BIN)/frugalclip-device bench $(if $(MODEL),--model $(MODEL)) $(if $(DATA),--data $(DATA)) $(ARGS); \
	fi

deploy:
	scripts/deploy.sh "$(PI)" "$(MODEL)"

test-arm64: $(STAMP)
	scripts/arm64/test.sh $(ARGS)

clean:
	rm -rf work runs .pytest_cache
