"""The static wiring of the Django project: apps, middleware, templates, password rules and
the periodic workload. None of it varies between deployments; ``portal/settings.py`` names
each of these settings and reads everything that does vary from the environment.
"""

from __future__ import annotations

from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from pythonjsonlogger.core import RESERVED_ATTRS
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.retry import Retry

# The project core first, then each app above the ones it imports (docs/architecture.md).
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",  # ArrayField: mergeable latency histograms in usage rollups
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
    "products",
    "webhooks",
    "keys",
    "usage",
    "billing",
    "sandbox",
    "gateway",
    "public",
    "console",
]

MIDDLEWARE = [
    # Outermost: the request id (log context, X-Request-Id) and the access line.
    "portal.logs.RequestIdMiddleware",
    # Then: /api/ and /v1/ answer every failure in problem+json (Redis trouble: 503).
    "portal.middleware.ApiErrorMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Unrouted /api/… and /v1/… URLs answer 404 in problem+json like every other API error.
    "public.middleware.ApiProblemNotFoundMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "allauth.usersessions.middleware.UserSessionsMiddleware",
    "accounts.middleware.ActiveOrganizationMiddleware",
]

TEMPLATES: list[dict[str, Any]] = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],  # settings.py adds BASE_DIR / "templates"
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

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
# Argon2 first: new and upgraded passwords are hashed with it; the others still verify.
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
# The customer API: the browser's session or a personal access token (scripts), JSON only,
# every error as problem+json. Views that set their own permission_classes keep the token
# scope check through accounts.permissions.OrgCapability.
REST_FRAMEWORK: dict[str, Any] = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "accounts.authentication.PersonalAccessTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "accounts.permissions.TokenScope",
    ],
    # Names nested Input/Output serializers after their API class (KeyCreateApi.InputSerializer
    # → KeyCreateInput) so per-operation serializers never collide in the OpenAPI components.
    "DEFAULT_SCHEMA_CLASS": "public.autoschema.TollgateAutoSchema",
    "EXCEPTION_HANDLER": "portal.problems.problem_exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["portal.parsers.JSONParser"],
    "UNAUTHENTICATED_USER": None,
}

# allauth's rate limits (kept in the Redis cache).
ACCOUNT_RATE_LIMITS = {
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/m/ip",
    "confirm_email": "1/3m/key",
    "reset_password": "20/m/ip,5/m/key",
}

# Celery queues by latency class (docs/deploy.md, "a worker pool per queue"); a worker started
# without -Q consumes only the default one, so start every pool with the queues it serves and
# make sure each queue has a pool: `celery -A portal worker -Q "$(python -c 'from portal.celery
# import QUEUES; print(",".join(QUEUES))')"` consumes all of them.
CELERY_DEFAULT_QUEUE = "celery"
CELERY_QUEUES = (CELERY_DEFAULT_QUEUE, "usage", "billing", "webhooks")
# Every task of our apps, by module (tests/portal/test_celery.py: each one has a route to one
# of CELERY_QUEUES). Task names of a module not listed here fall to the default queue.
CELERY_TASK_ROUTES: dict[str, dict[str, str]] = {
    "usage.tasks.*": {"queue": "usage"},
    "billing.tasks.webhook_delivery_attempt": {"queue": "webhooks"},  # its historic name (webhooks/tasks.py)
    "billing.tasks.*": {"queue": "billing"},
    "sandbox.tasks.*": {"queue": "billing"},  # the payment sandbox's provider webhooks
    "webhooks.tasks.*": {"queue": "webhooks"},
    "keys.tasks.*": {"queue": CELERY_DEFAULT_QUEUE},
    "public.tasks.*": {"queue": CELERY_DEFAULT_QUEUE},
}

# The whole periodic workload, for beat (celery-redbeat keeps it in Redis under a lock, so only
# one beat process sends it). Schedules in seconds.
CELERY_BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    # Drain the usage stream into PostgreSQL; recompute the rollups it touched, then alerts.
    "usage-ingest-drain": {"task": "usage.tasks.usage_ingest_drain", "schedule": 2.0},
    "usage-rollup-dirty": {"task": "usage.tasks.usage_rollup_dirty", "schedule": 10.0},
    # Safety nets: the last two hours/days for everyone; partitions ahead; trimming; drift.
    "usage-rollup-recent": {"task": "usage.tasks.usage_rollup_recent", "schedule": 600.0},
    "usage-partitions-ensure": {"task": "usage.tasks.usage_partitions_ensure", "schedule": 3600.0},
    "usage-stream-trim": {"task": "usage.tasks.usage_stream_trim", "schedule": 60.0},
    "usage-quota-reconcile": {"task": "usage.tasks.usage_quota_reconcile", "schedule": 900.0},
    # Retention: drop event partitions and drift rows past their horizons.
    "usage-partitions-prune": {"task": "usage.tasks.usage_partitions_prune", "schedule": 24 * 3600.0},
    "usage-quota-drift-prune": {"task": "usage.tasks.usage_quota_drift_prune", "schedule": 24 * 3600.0},
    "keys-touch-last-used": {"task": "keys.tasks.api_keys_touch_last_used_task", "schedule": 60.0},
    "keys-notify-expiring": {"task": "keys.tasks.api_keys_notify_expiring_task", "schedule": 3600.0},
    # Revocations, rotations and new keys that did not reach Redis (it was down): publish them.
    "keys-propagate-pending": {"task": "keys.tasks.api_keys_propagate_pending_task", "schedule": 5.0},
    # Re-add every key's digest to the set that lets made-up keys be refused without SQL.
    "keys-known-refresh": {"task": "keys.tasks.api_keys_known_refresh_task", "schedule": 3600.0},
    # Customer webhooks: enqueue the attempts that are due (retries after their backoff, and
    # attempts whose message was lost).
    "webhooks-deliveries-sweep": {"task": "webhooks.tasks.webhook_deliveries_sweep", "schedule": 10.0},
    "webhooks-history-prune": {"task": "webhooks.tasks.webhook_history_prune_task", "schedule": 24 * 3600.0},
    "billing-dunning-expire": {"task": "billing.tasks.dunning_expire_task", "schedule": 15 * 60.0},
    "billing-close-periods": {"task": "billing.tasks.invoices_close_periods_task", "schedule": 3600.0},
    # Refunds and cancellations we owe (journaled), retried until the provider confirms them.
    "billing-compensations": {"task": "billing.tasks.compensations_run_task", "schedule": 300.0},
    "billing-provider-events-prune": {"task": "billing.tasks.provider_events_prune_task", "schedule": 24 * 3600.0},
    "status-probes": {"task": "public.tasks.status_probe_run", "schedule": 60.0},
    "status-prune": {"task": "public.tasks.status_prune", "schedule": 24 * 3600.0},
}

# drf-spectacular: what does not depend on the deployment (settings.py adds title and links).
SPECTACULAR_SETTINGS: dict[str, Any] = {
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
    # One component name per shared choice set, wherever a serializer offers it.
    "ENUM_NAME_OVERRIDES": {
        "InvoiceStatusEnum": "billing.models.InvoiceStatus",
        "WebhookDeliveryStatusEnum": "webhooks.models.DeliveryStatus",
    },
    # Security schemes, problem+json errors, RateLimit headers, x-price, x-codeSamples.
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "public.schema.postprocess_tollgate"],
}

# Logs go to stderr, one line each; settings.py picks the formatter (LOG_FORMAT), the root level
# (LOG_LEVEL) and the access lines (ACCESS_LOG), and adds portal/logs.py's filters.
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "{levelname}{name}{request_id}{message}",
            "style": "{",
            "timestamp": "time",
            "rename_fields": {"levelname": "level", "name": "logger"},
            # Django's request in an extra field would print the query string (it may carry secrets).
            "reserved_attrs": [*RESERVED_ATTRS, "request"],
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    # httpx logs every request at INFO: one line per proxied call would flood the logs (and cost
    # the hot path); the gateway writes its own access line (ACCESS_LOG) and a usage event.
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}

# Content-Security-Policy with nonces; settings.py adds the form targets of the configured
# payment providers and CSP_FORM_ACTION_EXTRA.
SECURE_CSP: dict[str, list[str]] = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "font-src": [CSP.SELF, "data:"],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}


def redis_cache(url: str, *, key_prefix: str, connect_timeout: float, timeout: float) -> dict[str, Any]:
    """Django's cache on Redis with every command bounded in time (portal/middleware.py answers
    503 when Redis is stopped or hung)."""
    return {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": url,
        "KEY_PREFIX": key_prefix,
        "OPTIONS": {
            "CLIENT_CLASS": "django_redis.client.DefaultClient",
            "SOCKET_CONNECT_TIMEOUT": connect_timeout,
            "SOCKET_TIMEOUT": timeout,
            # One immediate retry on a broken connection (a pooled one a Redis restart closed), none
            # on a timeout: a hung Redis costs at most `timeout` per command.
            "CONNECTION_POOL_KWARGS": {"retry": Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,))},
        },
    }


def _pooled_connection_reset(conn: Any) -> None:
    """Back in the pool: a session setting (a ``SET statement_timeout`` someone forgot to undo)
    must not follow the connection to its next borrower."""
    conn.execute("RESET ALL")


def database(url: str, *, pool_min: int, pool_max: int, pool_timeout: float, conn_max_age: int) -> dict[str, Any]:
    """One PostgreSQL alias from its URL: with a connection pool (``pool_max`` > 0; Django then
    requires CONN_MAX_AGE=0 and the pool checks a connection before lending it), or with
    persistent connections health-checked before reuse."""
    config: dict[str, Any] = dict(dj_database_url.parse(url))
    if not config["ENGINE"].endswith("postgresql"):
        raise ImproperlyConfigured("DATABASE_URL must point at PostgreSQL (postgres://…).")
    if pool_max:
        pool = {
            "min_size": min(pool_min, pool_max),
            "max_size": pool_max,
            "timeout": pool_timeout,
            "reset": _pooled_connection_reset,
        }
        config.update(CONN_MAX_AGE=0, OPTIONS={**config.get("OPTIONS", {}), "pool": pool})
    else:
        config.update(CONN_MAX_AGE=conn_max_age, CONN_HEALTH_CHECKS=True)
    return config
