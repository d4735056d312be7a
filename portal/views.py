"""The signed-in dashboard shell, health endpoints, the favicon redirect and the error pages."""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.templatetags.static import static
from django.views.decorators.cache import never_cache

from portal.celery import app as celery_app
from portal.redis import redis_client

log = logging.getLogger(__name__)


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/dashboard.html", {"org": request.org, "membership": request.membership})


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. Touches no dependency."""
    return JsonResponse({"status": "ok"})


# A failing check is logged with its traceback at most this often per check and process, so a
# flood of probes during an outage is not a flood of identical log entries.
_LOG_EVERY_SECONDS = 10.0
_last_logged: dict[str, float] = {}


def _check(name: str, fn) -> dict:
    """One dependency's state. Anyone may call /readyz, so the answer says "down" and no more;
    the cause (hosts, ports, database user in driver messages) goes to the log."""
    started = time.perf_counter()
    try:
        detail = fn()
    except Exception:  # a readiness probe reports every failure, whatever its type
        now = time.monotonic()
        if now - _last_logged.get(name, -_LOG_EVERY_SECONDS) >= _LOG_EVERY_SECONDS:
            _last_logged[name] = now
            log.warning("readiness check %s failed", name, exc_info=True)
        return {"ok": False, "status": "down"}
    return {
        "ok": True,
        "status": "up",
        "latency_ms": round((time.perf_counter() - started) * 1000, 2),
        **(detail or {}),
    }


def _postgres() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {}


def _redis() -> dict:
    redis_client().ping()
    return {}


def _celery() -> dict:
    replies = celery_app.control.ping(timeout=0.5) or []
    if not replies:
        raise RuntimeError("no Celery worker answered a ping within 0.5 s")
    return {"workers": len(replies)}


# The Celery probe broadcasts to the broker and waits up to 0.5 s: its result is kept for
# READYZ_CELERY_CACHE_SECONDS per process, and one caller probes while the others wait for it,
# so a flood of anonymous /readyz calls is not a flood of broker pings.
_celery_lock = threading.Lock()
_celery_result: tuple[float, dict] | None = None


def _celery_cached() -> dict:
    global _celery_result
    with _celery_lock:
        if _celery_result is None or time.monotonic() - _celery_result[0] >= settings.READYZ_CELERY_CACHE_SECONDS:
            _celery_result = (time.monotonic(), _check("celery", _celery))
        return _celery_result[1]


def readiness_cache_clear() -> None:
    """Forget the cached Celery result (the next /readyz probes again)."""
    global _celery_result
    with _celery_lock:
        _celery_result = None


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: PostgreSQL, Redis and a Celery worker are reachable.

    Each probe is bounded (Redis by its socket timeouts). While Redis is down the answer is
    503 anyway, so the Celery ping — through a broker that is usually that same Redis — is
    skipped rather than left to wait on it.
    """
    checks = {"postgres": _check("postgres", _postgres), "redis": _check("redis", _redis)}
    checks["celery"] = _celery_cached() if checks["redis"]["ok"] else {"ok": False, "status": "down"}
    ready = all(c["ok"] for c in checks.values())
    return JsonResponse({"status": "ok" if ready else "unavailable", "checks": checks}, status=200 if ready else 503)


def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico whatever the page says; send them to the SVG."""
    return HttpResponsePermanentRedirect(static("favicon.svg"))


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    """Rendered without context processors: they may need the database or Redis that failed."""
    return HttpResponse(loader.get_template("500.html").render(), status=500)
