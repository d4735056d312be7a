"""The status page: probes (writes, run by Celery beat every minute) and the reads behind
/status/ and /status.json.

A probe result older than ``STATUS_PROBE_STALE_SECONDS`` means the probes stopped running,
i.e. the background workers (or beat) are down — shown as an outage of "Background workers"
and as "unknown" for the rest, never as a stale green.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import httpx
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from portal.redis import redis_client
from public.models import Component, Incident, IncidentImpact, IncidentStatus, ProbeResult
from usage.events import STREAM_KEY
from usage.selectors_operator import operator_usage

log = logging.getLogger(__name__)

UPTIME_DAYS = 90
USAGE_LAG_LIMIT = 50_000  # stream entries waiting before metering counts as degraded


# --- Probes (writes) -------------------------------------------------------------------------


def _probe_api() -> str:
    url = settings.STATUS_API_PROBE_URL or f"{settings.SITE_URL}/healthz"
    response = httpx.get(url, timeout=3.0)
    if response.status_code != 200:
        raise RuntimeError(f"{url} answered {response.status_code}")
    return ""


def _probe_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return ""


def _probe_redis() -> str:
    redis_client().ping()
    return ""


def _probe_workers() -> str:
    # This probe runs inside a worker: reaching this line is the proof. A dead worker shows as
    # a stale result (see component_states).
    return "probe executed by a worker"


def _probe_usage() -> str:
    redis = redis_client()
    length = redis.xlen(STREAM_KEY)
    if length > USAGE_LAG_LIMIT:
        raise RuntimeError(f"{length} usage events waiting to be recorded")
    return f"{length} events queued"


def _probe_billing() -> str:
    if settings.BILLING_SANDBOX:
        return "sandbox"
    checks = []
    if settings.STRIPE_SECRET_KEY:
        checks.append("https://api.stripe.com/v1/")
    if settings.PAYSTACK_SECRET_KEY:
        checks.append("https://api.paystack.co/")
    for url in checks:
        httpx.get(url, timeout=3.0)  # any HTTP answer (even 401) means reachable
    return ""


PROBES: dict[str, Callable[[], str]] = {
    Component.API: _probe_api,
    Component.DATABASE: _probe_database,
    Component.REDIS: _probe_redis,
    Component.WORKERS: _probe_workers,
    Component.USAGE: _probe_usage,
    Component.BILLING: _probe_billing,
}


def status_probe_run(*, now: datetime | None = None) -> list[ProbeResult]:
    """Run every probe once and store the results. Each failure is recorded, never raised."""
    now = now or timezone.now()
    results = []
    for component, probe in PROBES.items():
        started = time.perf_counter()
        try:
            detail, ok = probe(), True
        except Exception as exc:  # a probe reports every failure, whatever its type  # noqa: BLE001 - a probe reports every failure, whatever its type
            detail, ok = f"{type(exc).__name__}: {exc}", False
            # The cause (hosts, ports, users in driver messages) is for the operator: the log and
            # the stored result (admin). The public page and /status.json only say "down".
            log.warning("status probe %s failed: %s", component, detail)
        latency = round((time.perf_counter() - started) * 1000, 2)
        results.append(ProbeResult(component=component, ok=ok, latency_ms=latency, detail=detail[:300], checked_at=now))
    try:
        ProbeResult.objects.bulk_create(results)
    except Exception:
        log.exception("could not store status probe results")  # the database itself is down
    cache.delete(_uptime_cache_key(now.date(), UPTIME_DAYS))  # today's bar changed
    return results


def status_prune(*, now: datetime | None = None) -> int:
    """Drop probe results older than the retention window."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.STATUS_RETENTION_DAYS)
    deleted, _ = ProbeResult.objects.filter(checked_at__lt=cutoff).delete()
    return deleted


# --- Reads -------------------------------------------------------------------------------------

UPTIME_CACHE_KEY = "status:uptime:v1"


def _uptime_cache_key(today: date, days: int) -> str:
    return f"{UPTIME_CACHE_KEY}:{today.isoformat()}:{days}"


@dataclass
class ComponentState:
    code: str
    name: str
    state: str  # operational | degraded | outage | unknown
    detail: str
    checked_at: datetime | None
    latency_ms: float | None


PUBLIC_FAILURE_DETAIL = "down"

STATE_LABELS = {
    "operational": "Operational",
    "degraded": "Degraded performance",
    "outage": "Outage",
    "unknown": "No recent data",
}


def component_states(*, now: datetime | None = None) -> list[ComponentState]:
    """The latest probe per component, judged against staleness and open incidents."""
    now = now or timezone.now()
    stale_before = now - timedelta(seconds=settings.STATUS_PROBE_STALE_SECONDS)
    latest: dict[str, ProbeResult] = {}
    recent = ProbeResult.objects.filter(checked_at__gte=now - timedelta(hours=1)).order_by("component", "-checked_at")
    for result in recent.distinct("component"):
        latest[result.component] = result
    incident_impact: dict[str, str] = {}
    for incident in Incident.objects.exclude(status=IncidentStatus.RESOLVED):
        for code in incident.components or []:
            incident_impact[code] = incident.impact

    states = []
    for code, name in Component.choices:
        result = latest.get(code)
        if result is None or result.checked_at < stale_before:
            # Stale results mean the probes stopped: the workers that run them are down.
            state = "outage" if (code == Component.WORKERS and result is not None) else "unknown"
            detail = "Probes have not run recently." if result else "No probe has run yet."
        else:
            state = "operational" if result.ok else "outage"
            detail = "" if result.ok else PUBLIC_FAILURE_DETAIL  # never the stored cause: this is public
        impact = incident_impact.get(code)
        if impact and state == "operational":
            state = "outage" if impact in (IncidentImpact.CRITICAL, IncidentImpact.MAJOR) else "degraded"
        states.append(
            ComponentState(
                code=code,
                name=str(name),
                state=state,
                detail=detail,
                checked_at=result.checked_at if result else None,
                latency_ms=result.latency_ms if result else None,
            )
        )
    return states


def overall_state(states: list[ComponentState]) -> str:
    kinds = {s.state for s in states}
    if "outage" in kinds:
        return "outage"
    if "degraded" in kinds:
        return "degraded"
    if kinds == {"unknown"}:
        return "unknown"
    return "operational" if "unknown" not in kinds else "degraded"


def uptime_by_day(*, days: int = UPTIME_DAYS, today: date | None = None) -> dict[str, list[dict]]:
    """component → one entry per day (oldest first): {date, uptime (0–100 or None), checks}."""
    today = today or timezone.now().date()
    cache_key = _uptime_cache_key(today, days)
    cached = cache.get(cache_key)
    if cached is not None:
        return cached
    start = today - timedelta(days=days - 1)
    rows = (
        ProbeResult.objects.filter(checked_at__date__gte=start)
        .annotate(day=TruncDate("checked_at"))
        .values("component", "day")
        .annotate(total=Count("id"), ok=Count("id", filter=Q(ok=True)))
    )
    counts = {(r["component"], r["day"]): (r["ok"], r["total"]) for r in rows}
    result: dict[str, list[dict]] = {}
    for code, _name in Component.choices:
        series = []
        for offset in range(days):
            day = start + timedelta(days=offset)
            ok, total = counts.get((code, day), (0, 0))
            series.append(
                {
                    "date": day.isoformat(),
                    "uptime": round(100 * ok / total, 3) if total else None,
                    "checks": total,
                }
            )
        result[code] = series
    cache.set(cache_key, result, 60)
    return result


def uptime_percent(series: list[dict]) -> float | None:
    """Overall uptime of a daily series, weighting each day by its number of checks."""
    total = sum(d["checks"] for d in series)
    if not total:
        return None
    ok = sum(d["uptime"] * d["checks"] / 100 for d in series if d["uptime"] is not None)
    return round(100 * ok / total, 3)


def endpoint_latency(*, days: int = 7) -> list[dict]:
    """p95 latency per endpoint over the last ``days``, from real traffic (the usage rollups:
    the endpoint rows of ``usage.selectors_operator.operator_usage``). Only the endpoint and its p95 are
    published (request volumes are the operator's business). Cached 60 s.
    """
    cache_key = f"status:latency:{days}"
    cached = cache.get(cache_key)
    if cached is not None:
        return cached
    now = timezone.now()
    rows = operator_usage(since=now - timedelta(days=days), until=now, limit=50)["endpoints"]
    result = [
        {
            "endpoint": row["operation"],
            "p95_ms": round(float(row["p95_ms"]), 1) if row.get("p95_ms") is not None else None,
        }
        for row in sorted(rows, key=lambda row: row["operation"])
    ]
    cache.set(cache_key, result, 60)
    return result


def incidents_recent(*, days: int = 14) -> list[Incident]:
    since = timezone.now() - timedelta(days=days)
    return list(
        Incident.objects.filter(Q(resolved_at__isnull=True) | Q(started_at__gte=since) | Q(resolved_at__gte=since))
        .prefetch_related("updates")
        .order_by("-started_at")[:20]
    )
