# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# pip finds the local CPU build of torch here when it exists (no CUDA download).
WHEELS := $(shell test -d /opt/wheels && echo --find-links /opt/wheels)

.PHONY: setup sysdeps demo test lint format models eval bench clean

# espeak-ng renders the demo call and the tests' calls (a Debian package; installed when missing
# and we may install packages).
sysdeps:
	@command -v espeak-ng >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get install -y -q espeak-ng >/dev/null 2>&1 || (apt-get update -q >/dev/null && apt-get install -y -q espeak-ng >/dev/null); \
	  else echo "please install espeak-ng (apt-get install espeak-ng)" >&2; exit 1; fi; }

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q $(WHEELS) -e '.[dev,transformer,asr,workers]'
	touch $@

setup: $(BIN)/.installed sysdeps

models: setup
	$(BIN)/insights models build

demo: models
	@echo "== analyse the shipped examples (JSON Lines contract, spec §3) =="
	$(BIN)/insights analyze --jsonl < examples/analyze.jsonl | $(BIN)/python scripts/show_results.py
	@echo "== transcribe a generated two-party call (espeak-ng voices; caller left, doctor right) =="
	$(BIN)/python scripts/make_demo_call.py build/demo
	$(BIN)/insights transcribe build/demo/demo-call-stereo.ogg build/demo/demo-call-mono.mp3
	@echo "== ingest both calls into the embedded store (SQLite, in-process) and show the doctor's profile =="
	$(BIN)/insights ingest calls build/demo
	@echo "== and three online consultations (the third names a doctor at an unknown hospital: E504, not guessed) =="
	$(BIN)/insights ingest consults examples/consults.jsonl
	$(BIN)/insights profile show hcp-demo
	@echo "== ingesting again changes nothing (idempotent per call_id and audio) =="
	$(BIN)/insights ingest calls build/demo
	@echo "== one sentence, as a table =="
	$(BIN)/insights analyze "EGFR敏感突变的话我一般首选阿美替尼，价钱合适，都进医保了。"

lint: setup
	$(BIN)/ruff check insights workers tests scripts conftest.py
	$(BIN)/ruff format --check insights workers tests scripts conftest.py
	$(BIN)/mypy

format: setup
	$(BIN)/ruff format insights workers tests scripts conftest.py
	$(BIN)/ruff check --fix insights workers tests scripts conftest.py

test: lint
	$(BIN)/python -m pytest

eval: models
	$(BIN)/insights eval

bench: models
	$(BIN)/insights bench analyze

clean:
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache
