# The entry-screening image: the `entry-screening` command, running a screening worker by
# default. Other subcommands work the same way, e.g.
#   docker run --rm -e SCREENING_KAFKA_BOOTSTRAP=broker:9092 entry-screening topics create
# Settings are SCREENING_* environment variables (streams/settings.py); nothing is baked in
# except where the image keeps its data and serves its metrics.
#
# Every Python dependency has a binary wheel for linux/amd64 and linux/arm64, so the slim
# image needs no compiler. The native screening core (native/, Rust) is built into a wheel
# in a stage of its own and only the wheel reaches the image.

FROM rust:1-slim-bookworm AS native

# Debian bookworm's python3 is 3.11, the ABI of the runtime image below.
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv \
    && rm -rf /var/lib/apt/lists/* \
    && python3 -m venv /opt/maturin \
    && /opt/maturin/bin/pip install --no-cache-dir "maturin>=1.7,<2"
WORKDIR /src/native
COPY native/Cargo.toml native/Cargo.lock native/pyproject.toml ./
COPY native/src ./src
RUN /opt/maturin/bin/maturin build --release --interpreter python3 --compatibility linux --out /wheels


FROM python:3.11-slim AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Optional extras, e.g. --build-arg EXTRAS=[rocksdb] for SCREENING_TABLE_STORE=rocksdb.
ARG EXTRAS=""

WORKDIR /src
# Only what the package is built from (pyproject.toml names README.md as its readme).
COPY pyproject.toml README.md ./
COPY schemas ./schemas
COPY screening ./screening
COPY streams ./streams
COPY entry_screening ./entry_screening
COPY --from=native /wheels /wheels
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --upgrade pip \
    && /opt/venv/bin/pip install ".${EXTRAS}" /wheels/*.whl


FROM python:3.11-slim

LABEL org.opencontainers.image.title="entry-screening" \
      org.opencontainers.image.description="Screens US import entry filings: release, hold or seizure review." \
      org.opencontainers.image.licenses="Apache-2.0"

# A fixed, unprivileged uid so volumes can be prepared for it (chown 10001).
RUN groupadd --system --gid 10001 screening \
    && useradd --system --uid 10001 --gid screening --no-create-home \
       --home-dir /var/lib/entry-screening --shell /usr/sbin/nologin screening \
    && mkdir -p /var/lib/entry-screening \
    && chown screening:screening /var/lib/entry-screening

COPY --from=build /opt/venv /opt/venv

# The metrics endpoint must be reachable from outside the container: the default host,
# 127.0.0.1, suits a laptop only. The data directory holds the RocksDB registry store
# (SCREENING_TABLE_STORE=rocksdb); mount a volume there to keep it across restarts.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    SCREENING_DATA_DIR=/var/lib/entry-screening/worker \
    SCREENING_METRICS_HOST=0.0.0.0 \
    SCREENING_METRICS_PORT=9464

USER screening
WORKDIR /var/lib/entry-screening
EXPOSE 9464

# Healthy once the worker serves /metrics (it does so before loading the registry: the
# readiness of screening itself is the metric screening_registry_recovered). Commands that
# serve no metrics (topics create, load, feed) should run with --no-healthcheck or, in
# compose, `healthcheck: disable: true`.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/metrics' % os.environ.get('SCREENING_METRICS_PORT', '9464'), timeout=4).read()"]

ENTRYPOINT ["entry-screening"]
CMD ["worker"]
