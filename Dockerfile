# syntax=docker/dockerfile:1
# Tollgate's production image: `docker build -t tollgate .` (compose.yaml builds it too).
# One image for every process: deploy/entrypoint.sh web|worker|beat|consumer|migrate.

ARG PYTHON_IMAGE=python:3.13-slim

# --- builder: the virtualenv, from requirements.txt -----------------------------------------
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
# A compiler for the rare dependency without a wheel for this platform; it stays in this stage.
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY requirements.txt /tmp/requirements.txt
# A file compiled with hashes (pip-tools) is installed with --require-hashes: every package,
# dependencies included, must match its pinned digest. Wheels only: pip does not hash-check the
# build dependencies of a source build (every runtime package has a wheel for this base).
RUN if grep -q -- '--hash=' /tmp/requirements.txt; then \
        pip install --require-hashes --only-binary=:all: -r /tmp/requirements.txt; \
    else \
        pip install -r /tmp/requirements.txt; \
    fi

# --- static: collectstatic once, at build time ----------------------------------------------
FROM builder AS static
WORKDIR /app
COPY . .
# Settings refuse to load without production secrets; these build-only values exist for this
# one command, in this discarded stage. No database or Redis is touched.
RUN SECRET_KEY=build-only-not-a-secret-collectstatic-0123456789abcdef \
    FIELD_ENCRYPTION_KEY=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= \
    GATEWAY_IDENTITY_SECRET=build-only-not-a-secret-0123456789abcdef \
    ALLOWED_HOSTS=build.invalid \
    BILLING_SANDBOX_ALLOWED=1 \
    python manage.py collectstatic --noinput -v1

# --- runtime --------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DJANGO_SETTINGS_MODULE=portal.settings \
    PORT=8000
RUN groupadd --system --gid 10001 tollgate \
    && useradd --system --uid 10001 --gid tollgate --home-dir /app --no-create-home --shell /usr/sbin/nologin tollgate
WORKDIR /app
COPY --from=builder /opt/venv /opt/venv
# The code belongs to root and is read-only for the app; only var/ (beat's schedule) is its own.
COPY . .
COPY --from=static /app/var/staticfiles /app/var/staticfiles
RUN chmod 0755 deploy/entrypoint.sh && mkdir -p var /var/lib/tollgate/metrics \
    && chown tollgate:tollgate var /var/lib/tollgate/metrics
USER tollgate:tollgate
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=120s --retries=3 CMD ["python", "deploy/healthcheck.py"]
ENTRYPOINT ["/app/deploy/entrypoint.sh"]
CMD ["web"]
