# The two commands of the README. Each sets up what it needs first (a venv at .venv/).
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell sha256sum pyproject.toml | cut -c1-12)
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export GX_ANALYTICS_ENABLED := False
# The browsers: Debian's, never a downloaded one. chromium draws the packs' charts (kaleido);
# its headless shell (the same Debian build, without the desktop parts: pages cost it about
# half the CPU) drives the end-to-end tests and the benchmark's sessions.
CHROMIUM := /usr/bin/chromium
HEADLESS_SHELL := /usr/bin/chromium-headless-shell
# The reverse proxy of deploy/ (tests/e2e/test_deploy.py): Debian's nginx.
NGINX := /usr/sbin/nginx
# axe-core, the WCAG checker the browser tests inject: from npm, as package-lock.json pins it.
AXE := node_modules/axe-core/axe.min.js

.PHONY: setup demo test test-fast bench lint pango

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-* && touch $@

setup: $(STAMP)
	@# bytecode of our own code, once: with PYTHONDONTWRITEBYTECODE set (as on CI) every
	@# `smhp` and dashboard process would compile it again (about 0.1-0.3 s of CPU each)
	@$(PY) -m compileall -q smhp dashboard

demo: setup $(CHROMIUM) pango  ## synthetic extracts → nightly → dashboard at http://localhost:8501
	$(VENV)/bin/smhp demo

test: setup lint $(CHROMIUM) $(HEADLESS_SHELL) pango $(NGINX) $(AXE)  ## every test, for real (dbt, DuckDB files, chromium)
	$(PY) -m pytest

test-fast: setup       ## the quick loop: every test not marked slow (no dbt, pipeline or browser)
	$(PY) -m pytest -m "not slow"

# Installed only when missing (CI: a fresh Debian 12 machine, as root).
$(CHROMIUM) $(HEADLESS_SHELL):
	apt-get update && apt-get install -y chromium chromium-headless-shell

$(NGINX):
	apt-get update && apt-get install -y nginx-light

# WeasyPrint's text layout (the PDF packs, smhp/packs/): Debian's pango, when missing.
pango:
	@dpkg-query -W -f='$${Status}' libpangoft2-1.0-0 2>/dev/null | grep -q 'ok installed' \
	  || (apt-get update && apt-get install -y libpango-1.0-0 libpangoft2-1.0-0)

# Installed when missing or when the lock file changed (npm keeps old file times: touch).
$(AXE): package-lock.json
	npm ci --no-audit --no-fund
	touch $@

bench: setup $(CHROMIUM) $(HEADLESS_SHELL) pango $(NGINX)  ## by hand, not in the tests: scale 1 and 45, sessions 1, 10, 50
	$(PY) bench/run.py

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
