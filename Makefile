# editio: the two commands of the README.
#   make edition   set up what is missing, then build tei/ into build/
#   make test      set up what is missing (with test tools and the dask extra), then run the tests not marked slow
VENV    ?= .venv
PYTHON  ?= python3
PY      := $(VENV)/bin/python
EDITIO  := $(VENV)/bin/editio
# Debian packages: pango for WeasyPrint (PDF); chromium for the browser tests; poppler-utils
# (pdftoppm, pdftotext) for the PDF tests.
DEB_EDITION := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fontconfig
DEB_TEST    := $(DEB_EDITION) chromium poppler-utils
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: edition test test-all setup setup-test deb-edition deb-test check clean

edition: setup deb-edition
	$(EDITIO) build

# the default run leaves out tests marked slow (whole FRUS volumes); test-all runs them too
test: setup-test deb-test
	$(PY) -m pytest -q -m "not slow"

test-all: setup-test deb-test
	$(PY) -m pytest -q

check: setup
	$(EDITIO) check --strict

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(VENV)/.stamp-run: pyproject.toml | $(PY)
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.stamp-test: pyproject.toml $(VENV)/.stamp-run
	$(PY) -m pip install -q -e '.[test,dask]'
	touch $@

setup: $(VENV)/.stamp-run
setup-test: $(VENV)/.stamp-test

# install Debian packages only when one is missing
define apt_missing
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi
endef

deb-edition:
	$(call apt_missing,$(DEB_EDITION))

deb-test:
	$(call apt_missing,$(DEB_TEST))

clean:
	rm -rf build .pytest_cache
