# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q
# torch first and pinned: it takes the CPU wheel on disk; an unpinned torch would pull a multi-GB CUDA build.
TORCH  ?= torch==2.13.0

.PHONY: run test install install-test lint clean bench system-deps

$(VENV)/.created:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	$(PIP) install "$(TORCH)"
	touch $@

$(VENV)/.installed: $(VENV)/.created pyproject.toml
	$(PIP) install -e .
	touch $@

# transformers (the hf extra) and Ray after the pinned torch, never before it: they must not pull a torch of their own
$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(PIP) install -e ".[test,hf,ray]"
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

## run: the main job on built-in defaults: the quick claims suite, two recommendations, and the report
## (seqarena-results/report/index.html). SUITE=full for the robust verdicts (about 6 hours here, mostly training at long lengths); resumes.
SUITE ?= quick
run: install
	$(VENV)/bin/seqarena run --suite $(SUITE)

## system-deps: Debian packages some features use: espeak-ng (the spoken-digits task), chromium + chromium-driver
## (the report's browser test), util-linux + iproute2 (unshare and ip: the Ray cluster test's network namespace).
## Installed when we are root with apt-get; otherwise a message, and what needs them is
## skipped with a clear reason.
SYSTEM_DEPS := espeak-ng:espeak-ng chromium:chromium chromium-driver:chromedriver util-linux:unshare iproute2:ip

system-deps:
	@missing=""; for dep in $(SYSTEM_DEPS); do \
		command -v "$${dep#*:}" >/dev/null 2>&1 || missing="$$missing $${dep%%:*}"; done; \
	if [ -z "$$missing" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		(apt-get install -y -q $$missing >/dev/null 2>&1 || \
		 (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q $$missing >/dev/null 2>&1)) || \
		echo "note: could not install$$missing; the speech task, the report's browser test or the Ray cluster test may be skipped"; \
	else echo "note: missing$$missing (sudo apt-get install$$missing); the speech task, the report's browser test or the Ray cluster test will be skipped"; fi

## test: ruff, the import-layer contract, then the test suite
## test: the suite in two processes (pytest-xdist): most of its time is single-threaded (spawning workers, importing
## torch), so two processes fit a 2-core machine; every test passes with another process busy beside it.
test: install-test system-deps lint
	$(PY) -m pytest -q -n 2

lint: install-test
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/lint-imports

## bench: speed benchmarks (not part of `make test`)
bench: install
	$(PY) benchmarks/step_forms.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .ruff_cache
