"""Tollgate settings, read top to bottom from environment variables through the typed helpers of
``portal/env.py`` (a bad value stops start-up); static wiring is in ``portal/wiring.py``. With
``DEBUG`` off the production secrets are required. The README's configuration table lists all."""

from __future__ import annotations

import hashlib
from functools import partial
from pathlib import Path

from django.utils.csp import CSP

from portal import wiring
from portal.env import (
    ImproperlyConfigured,
    env_bool,
    env_bytes_b64,
    env_bytes_b64_list,
    env_float,
    env_int,
    env_kid_secrets,
    env_list,
    env_mailers,
    env_secret,
    env_str,
)
from portal.logs import logging_config
from portal.observability import observability_init

BASE_DIR = Path(__file__).resolve().parent.parent

# Off unless the environment says otherwise: an unset DEBUG in production must not mean the
# public development secret key, the payment sandbox and loose SSRF rules. `make run` and
# `make test` set DEBUG=1.
DEBUG = env_bool("DEBUG", False)
TESTING = env_bool("TESTING", False)

# --- Secrets -------------------------------------------------------------------------------
_DEV_SECRET = "dev-insecure-secret-key-change-me-0123456789abcdef0123456789"  # noqa: S105 - the public development default, refused when DEBUG is off
_DEV_FIELD_KEY = "ZGV2LWluc2VjdXJlLWZpZWxkLWtleS0zMi1ieXRlcyE="  # 32 bytes, dev only

SECRET_KEY = env_str("SECRET_KEY", None if not DEBUG else _DEV_SECRET)
if not DEBUG and SECRET_KEY == _DEV_SECRET:
    raise ImproperlyConfigured("SECRET_KEY must be set to a real secret when DEBUG is off.")
# AES-256-GCM key for secrets at rest (portal/crypto.py): 32 bytes, base64. Earlier keys that
# still decrypt go to FIELD_ENCRYPTION_OLD_KEYS until `manage.py encryption_rotate` has run.
FIELD_ENCRYPTION_KEY = env_bytes_b64("FIELD_ENCRYPTION_KEY", None if not DEBUG else _DEV_FIELD_KEY, length=32)
FIELD_ENCRYPTION_OLD_KEYS = env_bytes_b64_list("FIELD_ENCRYPTION_OLD_KEYS", length=32)
# Pepper mixed into API-key digests (HMAC-SHA256). Defaults to SECRET_KEY.
API_KEY_PEPPER = env_str("API_KEY_PEPPER", "") or SECRET_KEY

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"] if DEBUG else None)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
SITE_NAME = env_str("SITE_NAME", "Tollgate")

# --- Applications (docs/architecture.md: the project core, then each app above the last) --
INSTALLED_APPS = wiring.INSTALLED_APPS
MIDDLEWARE = wiring.MIDDLEWARE
ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
ASGI_APPLICATION = "portal.asgi.application"
TEMPLATES = [{**wiring.TEMPLATES[0], "DIRS": [BASE_DIR / "templates"]}]

# --- Data stores ---------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tollgate")
# Each process keeps a psycopg pool of DB_POOL_MIN..DB_POOL_MAX connections (Django's pool: a
# request or task borrows one and hands it back, CONN_MAX_AGE stays 0). DB_POOL_MAX=0 turns the
# pool off and keeps DB_CONN_MAX_AGE persistent connections instead (behind PgBouncer: 0 and 0).
DB_POOL_MIN = env_int("DB_POOL_MIN", 2, minimum=0)
# (Django's test client keeps a thread's connection until the thread ends: the suite needs more.)
DB_POOL_MAX = env_int("DB_POOL_MAX", 40 if TESTING else 10, minimum=0)
# Seconds to wait for a free connection; also how long a request waits while PostgreSQL is down.
DB_POOL_TIMEOUT = env_float("DB_POOL_TIMEOUT", 3.0, minimum=0.1)
# Optional read replica for dashboards and the usage API (usage selectors read through
# portal.db.REPLICA); unset, they read the primary.
DATABASE_REPLICA_URL = env_str("DATABASE_REPLICA_URL", "")
_database = partial(
    wiring.database,
    pool_min=DB_POOL_MIN,
    pool_max=DB_POOL_MAX,
    pool_timeout=DB_POOL_TIMEOUT,
    conn_max_age=env_int("DB_CONN_MAX_AGE", 60),  # only without the pool
)
DATABASES = {"default": _database(DATABASE_URL)}
DATABASES["default"]["TEST"] = {"NAME": env_str("TEST_DATABASE_NAME", f"test_{DATABASES['default']['NAME']}")}
if DATABASE_REPLICA_URL:
    # Tests read the replica alias from the test database.
    DATABASES["replica"] = {**_database(DATABASE_REPLICA_URL), "TEST": {"MIRROR": "default"}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
# Every Redis command is bounded in time: a stopped Redis is noticed within the connect timeout,
# a hung one (paused, network gone) within the read timeout, and the request is answered 503
# instead of waiting (portal/middleware.py).
# Blocking reads (the usage consumer's XREADGROUP BLOCK, 1 s) must stay below the read timeout.
REDIS_SOCKET_CONNECT_TIMEOUT = env_float("REDIS_SOCKET_CONNECT_TIMEOUT", 1.0)
REDIS_SOCKET_TIMEOUT = env_float("REDIS_SOCKET_TIMEOUT", 2.0)
CACHES = {
    "default": wiring.redis_cache(
        REDIS_URL,
        key_prefix=env_str("CACHE_KEY_PREFIX", "tg"),
        connect_timeout=REDIS_SOCKET_CONNECT_TIMEOUT,
        timeout=REDIS_SOCKET_TIMEOUT,
    )
}
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# --- Auth and accounts (django-allauth; its rate limits use the Redis cache) ---------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = wiring.AUTHENTICATION_BACKENDS
PASSWORD_HASHERS = wiring.PASSWORD_HASHERS
AUTH_PASSWORD_VALIDATORS = wiring.AUTH_PASSWORD_VALIDATORS
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "landing"

ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = env_str("ACCOUNT_EMAIL_VERIFICATION", "mandatory")
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = f"[{SITE_NAME}] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "http" if DEBUG else "https"
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ACCOUNT_RATE_LIMITS = wiring.ACCOUNT_RATE_LIMITS
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = SITE_NAME
HEADLESS_ONLY = False
HEADLESS_FRONTEND_URLS = {
    "account_confirm_email": f"{SITE_URL}/accounts/confirm-email/{{key}}/",
    "account_reset_password_from_key": f"{SITE_URL}/accounts/password/reset/key/{{key}}/",
    "account_signup": f"{SITE_URL}/accounts/signup/",
}
INVITATION_TTL_DAYS = env_int("INVITATION_TTL_DAYS", 7)
# Seconds each process reuses /readyz's Celery probe (a broker broadcast that waits up to 0.5 s),
# so a flood of anonymous readiness calls cannot become a flood of broker pings.
READYZ_CELERY_CACHE_SECONDS = env_float("READYZ_CELERY_CACHE_SECONDS", 10.0)
# Bearer token of the Prometheus endpoint /metrics (docs/metrics.md); empty: no endpoint (404).
# The multiprocess directory is PROMETHEUS_MULTIPROC_DIR, read by prometheus-client itself.
METRICS_TOKEN = env_str("METRICS_TOKEN", "")

# --- E-mail: EMAIL_URL, else printed on the console ------------------------------------------
# Development prints decoded messages so links can be copied; without DEBUG Django's own
# console backend stays, so `check --deploy` flags the missing EMAIL_URL.
MAILERS = env_mailers(
    "EMAIL_URL",
    console_backend="portal.mail.ReadableConsoleBackend" if DEBUG else "django.core.mail.backends.console.EmailBackend",
)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Tollgate <no-reply@tollgate.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- REST framework and OpenAPI ------------------------------------------------------------
REST_FRAMEWORK = wiring.REST_FRAMEWORK
SPECTACULAR_SETTINGS = {
    **wiring.SPECTACULAR_SETTINGS,
    "TITLE": f"{SITE_NAME} API",
    "CONTACT": {"name": "API support", "url": f"{SITE_URL}/docs/"},
    "EXTERNAL_DOCS": {"description": "Getting started", "url": f"{SITE_URL}/docs/getting-started/"},
}

# --- Internationalization and static files -------------------------------------------------
LANGUAGE_CODE, TIME_ZONE, USE_I18N, USE_TZ = "en-us", "UTC", True, True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG or TESTING
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG or TESTING

# --- Billing providers: a real key switches a provider from the local sandbox to its API ---
STRIPE_SECRET_KEY = env_str("STRIPE_SECRET_KEY", "")
STRIPE_PUBLISHABLE_KEY = env_str("STRIPE_PUBLISHABLE_KEY", "")
# With a real Stripe key the webhook secret must be real too: the sandbox's is public.
STRIPE_WEBHOOK_SECRET = env_str(
    "STRIPE_WEBHOOK_SECRET", None if STRIPE_SECRET_KEY else "whsec_sandbox_stripe_webhook_secret"
)
STRIPE_ENABLED = env_bool("STRIPE_ENABLED", True)
PAYSTACK_SECRET_KEY = env_str("PAYSTACK_SECRET_KEY", "")
PAYSTACK_ENABLED = env_bool("PAYSTACK_ENABLED", True)
PAYSTACK_CURRENCIES = env_list("PAYSTACK_CURRENCIES", ["NGN", "GHS", "ZAR", "KES"])
# An enabled provider without its secret key runs on the local sandbox, where test cards
# "pay". Production refuses that unless the operator opts in (a demo deployment).
BILLING_SANDBOX_ALLOWED = env_bool("BILLING_SANDBOX_ALLOWED", DEBUG)
_PROVIDERS = {"Stripe": (STRIPE_ENABLED, STRIPE_SECRET_KEY), "Paystack": (PAYSTACK_ENABLED, PAYSTACK_SECRET_KEY)}
_SANDBOXED = [name for name, (enabled, key) in _PROVIDERS.items() if enabled and not key]
if _SANDBOXED and not BILLING_SANDBOX_ALLOWED:
    raise ImproperlyConfigured(
        f"{' and '.join(_SANDBOXED)} enabled without a secret key: set the key, turn the provider off "
        "(STRIPE_ENABLED=0 / PAYSTACK_ENABLED=0), or set BILLING_SANDBOX_ALLOWED=1 for a demo deployment."
    )
BILLING_SANDBOX = bool(_SANDBOXED)  # any provider on the sandbox: the banner says so
# How the sandbox delivers its signed webhooks: "http" (to SITE_URL, a running server) or
# "inprocess" (Django's test client, no server needed — the default under tests).
BILLING_SANDBOX_WEBHOOK_DELIVERY = env_str("BILLING_SANDBOX_WEBHOOK_DELIVERY", "inprocess" if TESTING else "http")
BILLING_GRACE_DAYS = env_int("BILLING_GRACE_DAYS", 7)
# Provider webhooks in: larger bodies are refused (413) unread; unsigned ones only counted (per
# address and hour, this many addresses, then one overflow row); events pruned after the horizon.
PROVIDER_WEBHOOK_MAX_BYTES = env_int("PROVIDER_WEBHOOK_MAX_BYTES", 512 * 1024)
PROVIDER_WEBHOOK_REJECTIONS_PER_HOUR = env_int("PROVIDER_WEBHOOK_REJECTIONS_PER_HOUR", 50)
PROVIDER_EVENTS_RETENTION_DAYS = env_int("PROVIDER_EVENTS_RETENTION_DAYS", 90)
BILLING_INVOICE_PREFIX = env_str("BILLING_INVOICE_PREFIX", "TG")  # TG-2026-000123
DEFAULT_CURRENCY = env_str("DEFAULT_CURRENCY", "NGN")

# --- Security (TLS-ready; see `manage.py check --deploy`) ---------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]  # probes and scrapers on the internal port
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF, SECURE_REFERRER_POLICY, X_FRAME_OPTIONS = True, "strict-origin-when-cross-origin", "DENY"
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = not DEBUG
_PROVIDER_FORM_TARGETS = (
    ["https://checkout.stripe.com", "https://billing.stripe.com"] if STRIPE_SECRET_KEY else []
) + (["https://checkout.paystack.com", "https://paystack.com"] if PAYSTACK_SECRET_KEY else [])
SECURE_CSP = {
    **wiring.SECURE_CSP,
    "form-action": [CSP.SELF, *_PROVIDER_FORM_TARGETS, *env_list("CSP_FORM_ACTION_EXTRA", [])],
}

# --- Keys, JWTs and the gateway hot path (docs/keys-and-limits.md) -------------------------
# Lifetimes of a key record in process memory and in Redis. Revocation does not wait for them (a
# "dead" marker is checked on every request); their sum bounds it if the marker never arrives.
KEY_CACHE_LOCAL_TTL = env_int("KEY_CACHE_LOCAL_TTL", 60)
KEY_CACHE_REDIS_TTL = env_int("KEY_CACHE_REDIS_TTL", 300)
# Failed authentications (unknown key, malformed credential, invalid token) allowed per client
# address and window before the address is answered 429 for the rest of the window; 0 = no limit.
GATEWAY_AUTH_FAILURES_MAX = env_int("GATEWAY_AUTH_FAILURES_MAX", 30)
GATEWAY_AUTH_FAILURES_WINDOW = env_int("GATEWAY_AUTH_FAILURES_WINDOW", 60)
# Reverse proxies in front of the app that append the client address to X-Forwarded-For
# (0: the client address is the socket's peer, REMOTE_ADDR).
GATEWAY_TRUSTED_PROXIES = env_int("GATEWAY_TRUSTED_PROXIES", 0)
JWT_TTL_SECONDS = env_int("JWT_TTL_SECONDS", 900)
JWT_ISSUER = env_str("JWT_ISSUER", SITE_URL)
JWT_AUDIENCE = env_str("JWT_AUDIENCE", f"{SITE_URL}/v1")
# "kid:secret,kid2:secret2": the first signs, all verify (rotate by prepending a new key).
JWT_SIGNING_KEYS = env_kid_secrets(
    "JWT_SIGNING_KEYS", ["k1:" + hashlib.sha256(f"jwt-signing:{SECRET_KEY}".encode()).hexdigest()]
)
# Admission leases: with LIMITER_LEASE_FLOOR room left under every limit, up to LIMITER_LEASE_MAX
# admissions served with no Redis round trip, for at most LIMITER_LEASE_SECONDS.
LIMITER_LEASE_MAX = env_int("LIMITER_LEASE_MAX", 32)
LIMITER_LEASE_FLOOR = env_int("LIMITER_LEASE_FLOOR", 1000)
LIMITER_LEASE_SECONDS = env_float("LIMITER_LEASE_SECONDS", 0.5)
# Usage recorder: flush the in-process buffer every N ms, at most this many events per entry.
RECORDER_FLUSH_MS = env_int("RECORDER_FLUSH_MS", 50)
RECORDER_BATCH_SIZE = env_int("RECORDER_BATCH_SIZE", 500)
GATEWAY_VERIFY_TOKEN = env_str("GATEWAY_VERIFY_TOKEN", "")  # POST /v1/keys/verify (or operators' tokens)
GATEWAY_BASELINE_ENABLED = env_bool("GATEWAY_BASELINE_ENABLED", False)  # bench/ only: the unmetered twin
GATEWAY_UPSTREAM_MAX_CONNECTIONS = env_int("GATEWAY_UPSTREAM_MAX_CONNECTIONS", 200, minimum=1)  # pooled per worker
GATEWAY_UPSTREAM_KEEPALIVE_S = env_float("GATEWAY_UPSTREAM_KEEPALIVE_S", 30.0)  # then an idle one is closed
DEMO_UPSTREAM_URL = env_str("DEMO_UPSTREAM_URL", "http://127.0.0.1:8100")  # seed_demo's demo product upstream
# HMAC-SHA256 key of the identity headers signed for every product's upstream (who calls, live or test).
GATEWAY_IDENTITY_SECRET = env_secret(
    "GATEWAY_IDENTITY_SECRET",
    derived=hashlib.sha256(f"gateway-identity:{SECRET_KEY}".encode()).hexdigest(),
    required=not DEBUG,
    why="every product's upstream verifies the gateway's identity headers with it",
)

# --- Usage pipeline (docs/usage.md) --------------------------------------------------------
USAGE_INGEST_BATCH = env_int("USAGE_INGEST_BATCH", 500)  # stream entries per XREADGROUP
USAGE_INGEST_CLAIM_IDLE_MS = env_int("USAGE_INGEST_CLAIM_IDLE_MS", 60_000)  # then a dead consumer's entries move
USAGE_INGEST_DRAIN_SECONDS = env_int("USAGE_INGEST_DRAIN_SECONDS", 8)  # time budget of one beat drain
# Longest wait between retries of a batch PostgreSQL could not take (connection lost, failover…).
USAGE_INGEST_RETRY_MAX_SECONDS = env_float("USAGE_INGEST_RETRY_MAX_SECONDS", 10.0, minimum=0.5)  # the first wait
# Retention (docs/usage.md): whole months of usage events kept before the current one, and days
# of quota-drift rows; 0 keeps forever.
USAGE_RETENTION_MONTHS = env_int("USAGE_RETENTION_MONTHS", 13)
if USAGE_RETENTION_MONTHS and USAGE_RETENTION_MONTHS < 2:
    raise ImproperlyConfigured(
        f"USAGE_RETENTION_MONTHS={USAGE_RETENTION_MONTHS} would drop the last closed period's usage "
        "before it is invoiced: use 0 (keep forever) or at least 2."
    )
USAGE_QUOTA_DRIFT_RETENTION_DAYS = env_int("USAGE_QUOTA_DRIFT_RETENTION_DAYS", 90, minimum=0)
USAGE_ALERT_THRESHOLDS = (80, 100)

# --- Outbound customer webhooks ------------------------------------------------------------
# Endpoints may target private/loopback addresses only when allowed (the SSRF guard).
WEBHOOKS_ALLOW_PRIVATE_TARGETS = env_bool("WEBHOOKS_ALLOW_PRIVATE_TARGETS", DEBUG)
# One attempt's overall deadline (connect, send, the answer's headers and body) and how much of
# the answer is read, so a receiver cannot hold a worker; the attempt task's time limits lie beyond.
WEBHOOKS_DELIVERY_TIMEOUT_SECONDS = env_int("WEBHOOKS_DELIVERY_TIMEOUT_SECONDS", 15, minimum=1)
WEBHOOKS_RESPONSE_MAX_BYTES = env_int("WEBHOOKS_RESPONSE_MAX_BYTES", 64 * 1024, minimum=1)
# A claimed delivery whose attempt is not recorded within this time (lost message, killed worker)
# is enqueued again by the sweeper; the attempt's row lock and number make that harmless.
WEBHOOKS_CLAIM_SECONDS = env_int("WEBHOOKS_CLAIM_SECONDS", 120, minimum=1)
# Customer events, deliveries and attempts older than this are deleted (open deliveries never).
WEBHOOKS_RETENTION_DAYS = env_int("WEBHOOKS_RETENTION_DAYS", 90, minimum=1)

# --- Docs, pricing and status (docs/api-docs.md) -------------------------------------------
# Which meter an operation charges (for x-price): a function (path, method, operation_id, view).
DOCS_OPERATION_METER_RESOLVER = env_str("DOCS_OPERATION_METER_RESOLVER", "public.pricing.operation_meter")
DOCS_OPERATION_METERS: dict[str, str] = {}  # operationId → meter code, for views without meter_code
PRICING_HIGHLIGHT_PLAN = env_str("PRICING_HIGHLIGHT_PLAN", "pro")
SALES_EMAIL = env_str("SALES_EMAIL", "sales@tollgate.local")
STATUS_PROBE_STALE_SECONDS = env_int("STATUS_PROBE_STALE_SECONDS", 180)  # older: the workers show as down
STATUS_API_PROBE_URL = env_str("STATUS_API_PROBE_URL", "")  # empty = SITE_URL/healthz
STATUS_RETENTION_DAYS = env_int("STATUS_RETENTION_DAYS", 95)

# --- Celery and the whole periodic workload ------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", REDIS_URL)
# The Redis broker hands an unacknowledged message (acks_late: every task until it finishes) to
# another worker after the visibility timeout. It must outlast the longest hard time limit and
# the longest retry countdown, or running and waiting tasks come back as duplicates
# (tests/portal/test_celery.py holds it to that). Socket timeouts: a publish to a hung broker
# fails instead of waiting forever (kombu's default).
CELERY_VISIBILITY_TIMEOUT = env_int("CELERY_VISIBILITY_TIMEOUT", 3600, minimum=60)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
    "socket_timeout": REDIS_SOCKET_TIMEOUT,
    "socket_connect_timeout": REDIS_SOCKET_CONNECT_TIMEOUT,
}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES, CELERY_TASK_ACKS_LATE, CELERY_WORKER_PREFETCH_MULTIPLIER = True, True, 1
CELERY_TASK_SERIALIZER, CELERY_ACCEPT_CONTENT, CELERY_TIMEZONE = "json", ["json"], "UTC"
CELERY_TASK_DEFAULT_QUEUE = wiring.CELERY_DEFAULT_QUEUE
CELERY_TASK_ROUTES = wiring.CELERY_TASK_ROUTES
CELERY_BEAT_SCHEDULE = wiring.CELERY_BEAT_SCHEDULE
# Beat keeps its schedule in Redis (celery-redbeat) under a lock: every beat process started
# waits for the lock, so exactly one sends the schedule and another takes over within
# CELERY_BEAT_LOCK_TIMEOUT seconds of the holder's death. The holder renews it every loop
# (at most CELERY_BEAT_MAX_LOOP_INTERVAL seconds apart).
CELERY_BEAT_SCHEDULER = "redbeat.RedBeatScheduler"
CELERY_BEAT_MAX_LOOP_INTERVAL = 5
CELERY_REDBEAT_REDIS_URL = env_str("CELERY_REDBEAT_REDIS_URL", CELERY_BROKER_URL)
CELERY_REDBEAT_KEY_PREFIX = env_str("CELERY_REDBEAT_KEY_PREFIX", "redbeat")
CELERY_REDBEAT_LOCK_KEY = f"{CELERY_REDBEAT_KEY_PREFIX}:lock"
CELERY_REDBEAT_LOCK_TIMEOUT = env_int("CELERY_BEAT_LOCK_TIMEOUT", 30, minimum=2 * CELERY_BEAT_MAX_LOOP_INTERVAL)

# --- Logs, errors and traces (docs/observability.md) ---------------------------------------
# "text" (human-readable) or "json" (one object per line); access lines (one per request and per
# task) are on by default with JSON. Secrets are scrubbed from every line (portal/logs.py).
LOG_FORMAT = env_str("LOG_FORMAT", "text")
ACCESS_LOG = env_bool("ACCESS_LOG", LOG_FORMAT == "json")
LOGGING = logging_config(
    wiring.LOGGING, log_format=LOG_FORMAT, level=env_str("LOG_LEVEL", "INFO"), access_log_on=ACCESS_LOG
)
# Error reports to Sentry and traces over OTLP/HTTP: each off unless its variable is set.
SENTRY_DSN = env_str("SENTRY_DSN", "")
SENTRY_ENVIRONMENT = env_str("SENTRY_ENVIRONMENT", "development" if DEBUG else "production")
SENTRY_TRACES_SAMPLE_RATE = env_float("SENTRY_TRACES_SAMPLE_RATE", 0.0, minimum=0.0)
OTEL_EXPORTER_OTLP_ENDPOINT = env_str("OTEL_EXPORTER_OTLP_ENDPOINT", "")
OTEL_SERVICE_NAME = env_str("OTEL_SERVICE_NAME", "tollgate")
observability_init(
    sentry_dsn=SENTRY_DSN,
    sentry_environment=SENTRY_ENVIRONMENT,
    sentry_traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE,
    otlp_endpoint=OTEL_EXPORTER_OTLP_ENDPOINT,
    service_name=OTEL_SERVICE_NAME,
)
