"""Tollgate settings: one file, driven by environment variables.

Every variable is read through a typed helper that fails loudly on a bad value, and every
variable has a default that works on a developer machine. With ``DEBUG`` off the
production secrets are required (see ``portal/env.py`` and the README table).
"""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from django.utils.csp import CSP
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.retry import Retry

from portal.env import (ImproperlyConfigured, env_bool, env_bytes_b64, env_bytes_b64_list, env_float, env_int, env_list,
                        env_str)

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", True)
TESTING = env_bool("TESTING", False)

# --- Secrets -------------------------------------------------------------------------------
_DEV_SECRET = "dev-insecure-secret-key-change-me-0123456789abcdef0123456789"
_DEV_FIELD_KEY = "ZGV2LWluc2VjdXJlLWZpZWxkLWtleS0zMi1ieXRlcyE="  # 32 bytes, dev only

SECRET_KEY = env_str("SECRET_KEY", None if not DEBUG else _DEV_SECRET)
# AES-256-GCM key for secrets at rest (webhook signing secrets, provider tokens): 32 bytes, base64.
FIELD_ENCRYPTION_KEY = env_bytes_b64("FIELD_ENCRYPTION_KEY", None if not DEBUG else _DEV_FIELD_KEY, length=32)
# Earlier keys that still decrypt (rotation: see portal/crypto.py and `manage.py encryption_rotate`).
FIELD_ENCRYPTION_OLD_KEYS = env_bytes_b64_list("FIELD_ENCRYPTION_OLD_KEYS", length=32)
# Pepper mixed into API-key digests (HMAC-SHA256). Defaults to a value derived from SECRET_KEY.
API_KEY_PEPPER = env_str("API_KEY_PEPPER", "") or SECRET_KEY
if not DEBUG and SECRET_KEY == _DEV_SECRET:
    raise ImproperlyConfigured("SECRET_KEY must be set to a real secret when DEBUG is off.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"] if DEBUG else None)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
SITE_NAME = env_str("SITE_NAME", "Tollgate")

# --- Applications --------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.headless",
    "allauth.usersessions",
    "portal",
    "accounts",
    "plans",
    "keys",
    "usage",
    "billing",
    "gateway",
    "public",
    "console",
]

MIDDLEWARE = [
    # Outermost: /api/ and /v1/ answer every failure in problem+json (Redis trouble: 503).
    "portal.middleware.ApiErrorMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "allauth.usersessions.middleware.UserSessionsMiddleware",
    "accounts.middleware.ActiveOrganizationMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
ASGI_APPLICATION = "portal.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.site",
            ],
        },
    },
]

# --- Data stores ---------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tollgate")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))}
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if not DATABASES["default"]["ENGINE"].endswith("postgresql"):
    raise ImproperlyConfigured("DATABASE_URL must point at PostgreSQL (postgres://…).")
DATABASES["default"].setdefault("TEST", {})["NAME"] = env_str(
    "TEST_DATABASE_NAME", f"test_{DATABASES['default']['NAME']}"
)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
# Every Redis command is bounded in time: a stopped Redis is noticed within the connect timeout,
# a hung one (paused, network gone) within the read timeout, and the request is answered 503
# instead of waiting (portal/middleware.py).
# Blocking reads (the usage consumer's XREADGROUP BLOCK, 1 s) must stay below the read timeout.
REDIS_SOCKET_CONNECT_TIMEOUT = env_float("REDIS_SOCKET_CONNECT_TIMEOUT", 1.0)
REDIS_SOCKET_TIMEOUT = env_float("REDIS_SOCKET_TIMEOUT", 2.0)
CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "tg"),
        "OPTIONS": {
            "CLIENT_CLASS": "django_redis.client.DefaultClient",
            "SOCKET_CONNECT_TIMEOUT": REDIS_SOCKET_CONNECT_TIMEOUT,
            "SOCKET_TIMEOUT": REDIS_SOCKET_TIMEOUT,
            # One immediate retry on a broken connection (a pooled one a Redis restart closed), none
            # on a timeout: a hung Redis costs at most REDIS_SOCKET_TIMEOUT per command.
            "CONNECTION_POOL_KWARGS": {"retry": Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,))},
        },
    }
}
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# --- Celery --------------------------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", REDIS_URL)
# A publish to a hung broker must fail, not wait forever (kombu's default).
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_timeout": REDIS_SOCKET_TIMEOUT,
                                   "socket_connect_timeout": REDIS_SOCKET_CONNECT_TIMEOUT}
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
# Celery's own beat (django-celery-beat does not support Django 6.1). Apps add entries in
# portal/celery.py so the whole schedule is readable in one place.
CELERY_BEAT_SCHEDULE: dict = {}  # filled at the end of this file

# --- Auth and accounts ---------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
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
# allauth's rate limits use the default (Redis) cache.
ACCOUNT_RATE_LIMITS = {
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/m/ip",
    "confirm_email": "1/3m/key",
    "reset_password": "20/m/ip,5/m/key",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = SITE_NAME
HEADLESS_ONLY = False
HEADLESS_FRONTEND_URLS = {
    "account_confirm_email": f"{SITE_URL}/accounts/confirm-email/{{key}}/",
    "account_reset_password_from_key": f"{SITE_URL}/accounts/password/reset/key/{{key}}/",
    "account_signup": f"{SITE_URL}/accounts/signup/",
}

# --- Email ---------------------------------------------------------------------------------
EMAIL_URL = env_str("EMAIL_URL", "")  # smtp://user:pass@host:587 ; empty = console in DEBUG
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Tollgate <no-reply@tollgate.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
if EMAIL_URL:
    from urllib.parse import unquote, urlsplit

    _email = urlsplit(EMAIL_URL)
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": _email.hostname or "localhost",
                "port": _email.port or 587,
                "username": unquote(_email.username or ""),
                "password": unquote(_email.password or ""),
                "use_tls": _email.scheme == "smtp",  # STARTTLS
                "use_ssl": _email.scheme == "smtps",
                "timeout": 10,
            },
        }
    }
else:
    # Development: emails are printed on the console, decoded so links can be copied. Without
    # DEBUG, Django's own console backend stays so `check --deploy` flags the missing EMAIL_URL.
    MAILERS = {"default": {"BACKEND": "portal.mail.ReadableConsoleBackend" if DEBUG else "django.core.mail.backends.console.EmailBackend"}}

# --- REST framework and OpenAPI ------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "portal.problems.problem_exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["portal.parsers.JSONParser"],
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": f"{SITE_NAME} API",
    "DESCRIPTION": "The monetized API and the customer API of this Tollgate deployment.",
    "VERSION": "1.0.0",
    "OAS_VERSION": "3.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Tags from the segment after /v1/ or /api/ (sms, deliveries, keys, usage…), not "v1"/"api".
    "SCHEMA_PATH_PREFIX": r"/(?:v1|api)",
    # One name for the set of gateway operation ids, wherever a serializer offers it as choices.
    "ENUM_NAME_OVERRIDES": {"OperationIdEnum": "public.schema.gateway_operation_ids"},
    # Security schemes, problem+json errors, RateLimit headers, x-price, x-codeSamples.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "public.schema.postprocess_tollgate",
    ],
    "CONTACT": {"name": "API support", "url": f"{SITE_URL}/docs/"},
    "EXTERNAL_DOCS": {"description": "Getting started", "url": f"{SITE_URL}/docs/getting-started/"},
}

# --- Internationalization ------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files --------------------------------------------------------------------------
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

# --- Security (TLS-ready; see `manage.py check --deploy`) ---------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "font-src": [CSP.SELF, "data:"],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF] + env_list("CSP_FORM_ACTION_EXTRA", []),
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}

# --- Tollgate ------------------------------------------------------------------------------
# Billing providers: real keys switch from the local sandbox to the real APIs.
STRIPE_SECRET_KEY = env_str("STRIPE_SECRET_KEY", "")
STRIPE_PUBLISHABLE_KEY = env_str("STRIPE_PUBLISHABLE_KEY", "")
# With a real Stripe key the webhook secret must be real too: the sandbox's is public.
STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET", None if STRIPE_SECRET_KEY else "whsec_sandbox_stripe_webhook_secret")
STRIPE_ENABLED = env_bool("STRIPE_ENABLED", True)
PAYSTACK_SECRET_KEY = env_str("PAYSTACK_SECRET_KEY", "")
PAYSTACK_ENABLED = env_bool("PAYSTACK_ENABLED", True)
PAYSTACK_CURRENCIES = env_list("PAYSTACK_CURRENCIES", ["NGN", "GHS", "ZAR", "KES"])
# An enabled provider without its secret key runs on the local sandbox, where test cards
# "pay". Production refuses that unless the operator opts in (a demo deployment).
BILLING_SANDBOX_ALLOWED = env_bool("BILLING_SANDBOX_ALLOWED", DEBUG)
_SANDBOXED = [name for name, enabled, key in (("Stripe", STRIPE_ENABLED, STRIPE_SECRET_KEY),
                                              ("Paystack", PAYSTACK_ENABLED, PAYSTACK_SECRET_KEY)) if enabled and not key]
if _SANDBOXED and not BILLING_SANDBOX_ALLOWED:
    raise ImproperlyConfigured(
        f"{' and '.join(_SANDBOXED)} enabled without a secret key: set the key, turn the provider off "
        "(STRIPE_ENABLED=0 / PAYSTACK_ENABLED=0), or set BILLING_SANDBOX_ALLOWED=1 for a demo deployment."
    )
BILLING_SANDBOX = bool(_SANDBOXED)  # any provider on the sandbox: the banner says so
BILLING_GRACE_DAYS = env_int("BILLING_GRACE_DAYS", 7)
DEFAULT_CURRENCY = env_str("DEFAULT_CURRENCY", "NGN")

# JWTs minted by POST /v1/auth/token.
JWT_TTL_SECONDS = env_int("JWT_TTL_SECONDS", 900)
JWT_ISSUER = env_str("JWT_ISSUER", SITE_URL)
JWT_AUDIENCE = env_str("JWT_AUDIENCE", f"{SITE_URL}/v1")

# Gateway: an optional upstream that the proxy endpoints forward to.
GATEWAY_UPSTREAM_URL = env_str("GATEWAY_UPSTREAM_URL", "")
# Outbound customer webhooks may target private/loopback addresses only when allowed (SSRF).
WEBHOOKS_ALLOW_PRIVATE_TARGETS = env_bool("WEBHOOKS_ALLOW_PRIVATE_TARGETS", DEBUG)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# ===========================================================================================
# Per-area settings. Each area adds its settings under its own header, so parallel work on
# different areas never edits the same lines.
# ===========================================================================================

# --- Accounts and site shell (issue 2) -----------------------------------------------------
# Days an organization invitation link stays valid.
INVITATION_TTL_DAYS = env_int("INVITATION_TTL_DAYS", 7)



# --- Keys, limits and the gateway hot path (issue 3) ---------------------------------------
# How long a process trusts its in-memory copy of a key record, and how long the shared copy
# lives in Redis. Revocation and rotation do not wait for them: the admission script checks a
# per-key "dead" marker on every request. Their sum bounds how long a revoked key could still be
# served if that marker never reached Redis (and the propagation sweep could not run either).
KEY_CACHE_LOCAL_TTL = env_int("KEY_CACHE_LOCAL_TTL", 60)
KEY_CACHE_REDIS_TTL = env_int("KEY_CACHE_REDIS_TTL", 300)
# JWT signing keys "kid:secret,kid2:secret2": the first signs, all verify (rotation).
JWT_SIGNING_KEYS: dict[str, str] = {}
for _item in env_list("JWT_SIGNING_KEYS", [
        "k1:" + __import__("hashlib").sha256(f"jwt-signing:{SECRET_KEY}".encode()).hexdigest()]):
    _kid, _, _secret = _item.partition(":")
    if not _kid or len(_secret) < 32:
        raise ImproperlyConfigured("JWT_SIGNING_KEYS must be 'kid:secret,…' with secrets of 32+ characters.")
    JWT_SIGNING_KEYS[_kid] = _secret
# Admission leases: far from every limit (each still has LIMITER_LEASE_FLOOR room), the Lua
# script reserves up to LIMITER_LEASE_MAX extra admissions that this process hands out with no
# Redis round trip, for at most LIMITER_LEASE_SECONDS (which bounds how late a revocation can
# be noticed). 0 disables leases: every request then runs the script.
LIMITER_LEASE_MAX = env_int("LIMITER_LEASE_MAX", 32)
LIMITER_LEASE_FLOOR = env_int("LIMITER_LEASE_FLOOR", 1000)
LIMITER_LEASE_SECONDS = env_float("LIMITER_LEASE_SECONDS", 0.5)
# Usage recorder: flush the in-process buffer every N ms, or at once when this many are waiting.
RECORDER_FLUSH_MS = env_int("RECORDER_FLUSH_MS", 50)
RECORDER_BATCH_SIZE = env_int("RECORDER_BATCH_SIZE", 500)
# Failed authentications (unknown key, malformed credential, invalid token) allowed per client
# address and window before the address is answered 429 for the rest of the window; 0 = no limit.
GATEWAY_AUTH_FAILURES_MAX = env_int("GATEWAY_AUTH_FAILURES_MAX", 30)
GATEWAY_AUTH_FAILURES_WINDOW = env_int("GATEWAY_AUTH_FAILURES_WINDOW", 60)
# Reverse proxies in front of the app that append the client address to X-Forwarded-For
# (0: the client address is the socket's peer, REMOTE_ADDR).
GATEWAY_TRUSTED_PROXIES = env_int("GATEWAY_TRUSTED_PROXIES", 0)
# Bearer token the operator's own backend uses for POST /v1/keys/verify (empty = disabled).
GATEWAY_VERIFY_TOKEN = env_str("GATEWAY_VERIFY_TOKEN", "")
# Mount /v1/_baseline/… (unmetered twins of the sample endpoints) — for bench/ only.
GATEWAY_BASELINE_ENABLED = env_bool("GATEWAY_BASELINE_ENABLED", False)
CELERY_BEAT_SCHEDULE.update({
    "keys-touch-last-used": {"task": "keys.tasks.api_keys_touch_last_used_task", "schedule": 60.0},
    "keys-notify-expiring": {"task": "keys.tasks.api_keys_notify_expiring_task", "schedule": 3600.0},
    # Revocations, rotations and new keys that did not reach Redis (it was down): publish them.
    "keys-propagate-pending": {"task": "keys.tasks.api_keys_propagate_pending_task", "schedule": 5.0},
    # Re-add every key's digest to the set that lets made-up keys be refused without SQL.
    "keys-known-refresh": {"task": "keys.tasks.api_keys_known_refresh_task", "schedule": 3600.0},
})


# --- Usage pipeline and dashboards (issue 4) -----------------------------------------------
# ArrayField (mergeable latency histograms in usage rollups) needs django.contrib.postgres.
INSTALLED_APPS += ["django.contrib.postgres"]
# Ingest: batch size (stream entries per XREADGROUP), how long a pending entry of a silent
# consumer waits before another consumer claims it, and the Celery drain's time budget.
USAGE_INGEST_BATCH = env_int("USAGE_INGEST_BATCH", 500)
USAGE_INGEST_CLAIM_IDLE_MS = env_int("USAGE_INGEST_CLAIM_IDLE_MS", 60_000)
USAGE_INGEST_DRAIN_SECONDS = env_int("USAGE_INGEST_DRAIN_SECONDS", 8)
USAGE_ALERT_THRESHOLDS = (80, 100)



# --- Billing (issue 5) ---------------------------------------------------------------------
# How the sandbox delivers its signed webhooks: "http" (to SITE_URL, a running server) or
# "inprocess" (Django's test client, no server needed — the default under tests).
BILLING_SANDBOX_WEBHOOK_DELIVERY = env_str("BILLING_SANDBOX_WEBHOOK_DELIVERY", "inprocess" if TESTING else "http")
# Invoice numbers look like TG-2026-000123.
BILLING_INVOICE_PREFIX = env_str("BILLING_INVOICE_PREFIX", "TG")
if STRIPE_SECRET_KEY:
    SECURE_CSP["form-action"] += ["https://checkout.stripe.com", "https://billing.stripe.com"]
if PAYSTACK_SECRET_KEY:
    SECURE_CSP["form-action"] += ["https://checkout.paystack.com", "https://paystack.com"]
# The billing API's "status" choice sets get their own component names in the OpenAPI schema.
SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {}).update({
    "InvoiceStatusEnum": "billing.models.InvoiceStatus",
    "WebhookDeliveryStatusEnum": "billing.models.DeliveryStatus",
})



# --- Docs, pricing and status (public/) ----------------------------------------------------
# Names nested Input/Output serializers after their API class (KeyCreateApi.InputSerializer →
# KeyCreateInput) so per-operation serializers never collide in the OpenAPI components.
REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"] = "public.autoschema.TollgateAutoSchema"
# Unrouted /api/… and /v1/… URLs answer 404 in problem+json like every other API error.
MIDDLEWARE.insert(MIDDLEWARE.index("django.middleware.common.CommonMiddleware") + 1,
                  "public.middleware.ApiProblemNotFoundMiddleware")
# Which meter an operation charges (for x-price): a function (path, method, operation_id, view).
DOCS_OPERATION_METER_RESOLVER = env_str("DOCS_OPERATION_METER_RESOLVER", "public.pricing.operation_meter")
DOCS_OPERATION_METERS: dict[str, str] = {}  # operationId → meter code, fallback for views without meter_code
PRICING_HIGHLIGHT_PLAN = env_str("PRICING_HIGHLIGHT_PLAN", "pro")
SALES_EMAIL = env_str("SALES_EMAIL", "sales@tollgate.local")
# Status page: a probe older than this means the probe worker (Celery beat/worker) is down.
STATUS_PROBE_STALE_SECONDS = env_int("STATUS_PROBE_STALE_SECONDS", 180)
STATUS_API_PROBE_URL = env_str("STATUS_API_PROBE_URL", "")  # empty = SITE_URL/healthz
STATUS_RETENTION_DAYS = env_int("STATUS_RETENTION_DAYS", 95)



# --- Celery beat: the whole periodic workload in one place ---------------------------------
# Each area adds entries in its own block: CELERY_BEAT_SCHEDULE.update({...})

# beat: usage (issue 4)
CELERY_BEAT_SCHEDULE.update({
    # Drain the usage stream into PostgreSQL (a Redis lock keeps one drain at a time per host).
    "usage-ingest-drain": {"task": "usage.tasks.usage_ingest_drain", "schedule": 2.0},
    # Recompute rollups of the (org, hour) slices the consumer touched, then check alerts.
    "usage-rollup-dirty": {"task": "usage.tasks.usage_rollup_dirty", "schedule": 10.0},
    # Safety net: recompute the last two hours/days for everyone; partitions ahead; trim.
    "usage-rollup-recent": {"task": "usage.tasks.usage_rollup_recent", "schedule": 600.0},
    "usage-partitions-ensure": {"task": "usage.tasks.usage_partitions_ensure", "schedule": 3600.0},
    "usage-stream-trim": {"task": "usage.tasks.usage_stream_trim", "schedule": 60.0},
    "usage-quota-reconcile": {"task": "usage.tasks.usage_quota_reconcile", "schedule": 900.0},
})


# beat: billing (issue 5)
CELERY_BEAT_SCHEDULE.update({
    "billing-dunning-expire": {"task": "billing.tasks.dunning_expire_task", "schedule": 15 * 60},
    "billing-close-periods": {"task": "billing.tasks.invoices_close_periods_task", "schedule": 60 * 60},
})


# beat: status probes (public/)
CELERY_BEAT_SCHEDULE.update({
    "status-probes": {"task": "public.tasks.status_probe_run", "schedule": 60.0},
    "status-prune": {"task": "public.tasks.status_prune", "schedule": 24 * 3600.0},
})


