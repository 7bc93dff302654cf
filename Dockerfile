# Steward: slim image, non-root, dependencies from uv.lock.
# BASE_IMAGE is any Debian-like image with Python 3.11+ as `python3` and the venv module:
# python:3.11-slim by default; `./dev image-check` builds on a stand-in made from Debian
# packages (see docs/guide/setup.md).
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE} AS base

# For the build only (not kept in the image): a CA bundle for package downloads behind a
# TLS-inspecting proxy, e.g. --build-arg SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
# with that file mounted into the build (`./dev image-check` does both).
ARG SSL_CERT_FILE
ARG PIP_CERT
ARG UV_NATIVE_TLS

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv

# uv gets a venv of its own: that works where `pip` is on PATH (python:3.11-slim) and where
# the system Python refuses installs outside a venv (Debian's python3, PEP 668).
RUN python3 -m venv /opt/uv \
    && /opt/uv/bin/python -m pip install --no-cache-dir --disable-pip-version-check "uv==0.13.9" \
    && ln -s /opt/uv/bin/uv /usr/local/bin/uv \
    && groupadd --gid 10001 steward \
    && useradd --create-home --uid 10001 --gid 10001 steward

WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project --no-cache --python python3

# Every top-level package the entry points import: `steward demo` plays against `sandbox`.
COPY bot ./bot
COPY cogs ./cogs
COPY config ./config
COPY sandbox ./sandbox
COPY migrations ./migrations
# The data folder holds health details: only the steward user may enter it.
RUN uv sync --frozen --no-dev --no-cache --python python3 \
    && install -d -m 0700 -o 10001 -g 10001 /app/data

# Numeric, so a runtime's run-as-non-root check can verify it without reading /etc/passwd.
USER 10001:10001
ENV PATH="/app/.venv/bin:$PATH" \
    STEWARD_DATABASE=/app/data/steward.sqlite3
VOLUME ["/app/data"]

HEALTHCHECK --interval=60s --timeout=20s --start-period=30s --retries=3 CMD ["steward", "check"]
CMD ["steward", "run"]
