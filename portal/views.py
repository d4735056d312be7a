"""The signed-in dashboard shell, health endpoints, the favicon redirect and the error pages."""

from __future__ import annotations

import time

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.templatetags.static import static
from django.views.decorators.cache import never_cache

from portal.celery import app as celery_app
from portal.redis import redis_client


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/dashboard.html", {"org": request.org, "membership": request.membership})


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. Touches no dependency."""
    return JsonResponse({"status": "ok"})


def _check(fn) -> dict:
    started = time.perf_counter()
    try:
        detail = fn()
    except Exception as exc:  # a readiness probe reports every failure, whatever its type
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    return {"ok": True, "latency_ms": round((time.perf_counter() - started) * 1000, 2), **(detail or {})}


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


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: PostgreSQL, Redis and a Celery worker are reachable.

    Each probe is bounded (Redis by its socket timeouts). While Redis is down the answer is
    503 anyway, so the Celery ping — through a broker that is usually that same Redis — is
    skipped rather than left to wait on it.
    """
    checks = {"postgres": _check(_postgres), "redis": _check(_redis)}
    if checks["redis"]["ok"]:
        checks["celery"] = _check(_celery)
    else:
        checks["celery"] = {"ok": False, "error": "not checked: Redis is unavailable"}
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
