# Two commands on a fresh machine: `make run` (web chat) and `make test`.
VENV   ?= .venv
PY     := $(VENV)/bin/python
CLI    := $(VENV)/bin/samverkan-qa
STAMP  := $(VENV)/.installed
INDEX  ?= index
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test install index browser axe bench bench-scale lint

run: index
	$(CLI) serve --index $(INDEX)

test: install browser axe
	$(PY) -m ruff check src tests app.py bench
	$(PY) -m pytest -ra

install: $(STAMP)

# torch first and pinned: that CPU build is on this machine; anything else pulls CUDA wheels.
$(STAMP): pyproject.toml
	[ -x $(PY) ] || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[web,postgres,dev]'
	touch $(STAMP)

# Builds the index if it is missing; re-embeds only new or changed documents otherwise.
index: install
	$(CLI) index corpus --index $(INDEX)

# Headless Chromium for the browser test, from Debian's packages (no browser download).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium chromium-driver; }

# axe-core for the browser test's accessibility checks, the version package-lock.json pins
# (from the npm registry; node and npm from Debian's packages when missing).
axe: node_modules/axe-core/axe.min.js

node_modules/axe-core/axe.min.js: package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq nodejs npm; }
	npm ci --no-audit --no-fund
	touch $@

# Every shipped default is re-derived from training data first (each script exits 1 when the
# shipped value differs), then the held-out tables are printed and written into the README.
bench: install
	$(PY) bench/tune.py
	$(PY) bench/calibrate_abstention.py
	$(PY) bench/train_ranker.py --check
	$(PY) bench/run.py
	$(PY) bench/answers.py
	$(PY) bench/answers_training.py
	$(PY) bench/stores.py
	$(PY) bench/index_speed.py

# Search and ask over synthetic indexes of 10k, 100k and 1M passages (README "Scale"); they
# are kept in $$TMPDIR/sqa-scale (about 6 GB; the 1M one takes about 15 minutes to build).
bench-scale: install
	$(PY) bench/scale.py

lint: install
	$(PY) -m ruff check src tests app.py bench
	$(PY) -m ruff format --check src tests app.py bench
