# Steward: slim image, non-root, dependencies from uv.lock.
# BASE_IMAGE: any Debian-like image with Python 3.11 and pip (`./dev image-check` builds a
# stand-in from Debian packages).
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE} AS base

# Build-time only (not kept in the image): a CA bundle mounted by the build for TLS, and
# permission to pip-install uv into a distribution's own Python (PEP 668).
ARG SSL_CERT_FILE
ARG PIP_CERT
ARG UV_NATIVE_TLS
ARG PIP_BREAK_SYSTEM_PACKAGES

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_LINK_MODE=copy \
    UV_PROJECT_ENVIRONMENT=/app/.venv

RUN pip install --no-cache-dir "uv==0.13.9" \
    && useradd --create-home --uid 10001 steward

WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project

COPY bot ./bot
COPY cogs ./cogs
COPY config ./config
COPY sandbox ./sandbox
COPY migrations ./migrations
RUN uv sync --frozen --no-dev \
    && mkdir -p /app/data && chown steward:steward /app/data

USER steward
ENV PATH="/app/.venv/bin:$PATH" \
    STEWARD_DATABASE=/app/data/steward.sqlite3
VOLUME ["/app/data"]

HEALTHCHECK --interval=60s --timeout=20s --start-period=30s --retries=3 CMD ["steward", "check"]
CMD ["steward", "run"]
