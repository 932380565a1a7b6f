# crisiswatch service image.
#   docker build -t crisiswatch .
#   docker run -p 8080:8080 -v "$PWD/alerts.yaml:/etc/crisiswatch/alerts.yaml:ro" \
#     -v crisiswatch-data:/var/lib/crisiswatch -e CRISISWATCH_INGEST_TOKEN -e SLACK_BOT_TOKEN crisiswatch
# alerts.yaml is mounted, never baked in; state (the SQLite store) lives in /var/lib/crisiswatch.
# SIGHUP reloads the configuration (docker kill -s HUP ...); SIGTERM stops gracefully.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build: a virtual environment with the dependencies and crisiswatch --------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
WORKDIR /app
COPY pyproject.toml README.md ./
COPY service/ service/
COPY models/ models/
# Editable install: the code and the trained models stay together under /app, where
# crisiswatch looks for models/ (next to the service package).
RUN /opt/venv/bin/pip install --no-compile -e /app

# --- runtime: the same venv and sources, no build tools, a non-root user ---------------------------
FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="crisiswatch" \
      org.opencontainers.image.description="Crisis-detection alerting for brand communication teams"
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    CRISISWATCH_LISTEN=0.0.0.0:8080 \
    CRISISWATCH_LOG_FORMAT=json
RUN groupadd --system --gid 10001 crisiswatch \
    && useradd --system --uid 10001 --gid crisiswatch --home-dir /var/lib/crisiswatch --shell /usr/sbin/nologin crisiswatch \
    && mkdir -p /var/lib/crisiswatch /etc/crisiswatch \
    && chown crisiswatch:crisiswatch /var/lib/crisiswatch
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
WORKDIR /var/lib/crisiswatch
VOLUME ["/var/lib/crisiswatch"]
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; port = os.environ.get('CRISISWATCH_LISTEN', ':8080').rsplit(':', 1)[1]; urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4)"]
CMD ["crisiswatch", "run", "--config", "/etc/crisiswatch/alerts.yaml"]
