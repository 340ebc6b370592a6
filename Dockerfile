# regiobot as a container image. Build: docker build -t regiobot .
# Run:   docker run -d --name regiobot -v /srv/regiobot:/data regiobot
# The volume /data holds config.toml, the SQLite database (if used) and the Matrix store;
# see docs/operations.md.

# Stage 1: install the locked dependencies (exactly the tested versions, every file checked against
# its hash), then the package itself without resolving anything, into a virtual environment.
FROM python:3.11-slim-bookworm AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/regiobot
WORKDIR /src
COPY requirements ./requirements
RUN /opt/regiobot/bin/pip install --require-hashes -r requirements/runtime.txt
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY commands ./commands
COPY services ./services
COPY rules ./rules
COPY storage ./storage
COPY web ./web
RUN /opt/regiobot/bin/pip install --no-deps .

# Stage 2: only the virtual environment, run as an unprivileged user.
FROM python:3.11-slim-bookworm AS runtime
# A font with umlauts for the chart of !statistik (Pillow's own font has none).
RUN apt-get update && apt-get install -y --no-install-recommends fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 regiobot \
    && useradd --system --uid 10001 --gid regiobot --home-dir /data --no-create-home \
       --shell /usr/sbin/nologin regiobot \
    && mkdir /data && chown regiobot:regiobot /data
COPY --from=builder /opt/regiobot /opt/regiobot
ENV PATH=/opt/regiobot/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /data
VOLUME ["/data"]
USER regiobot
# /healthz and /metrics: config.toml needs [metrics] listen = "0.0.0.0:9108" (or 127.0.0.1:9108
# when only this health check asks).
EXPOSE 9108
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9108/healthz', timeout=8)"]
ENTRYPOINT ["regiobot"]
CMD ["run", "--config", "/data/config.toml"]
