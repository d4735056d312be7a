"""What the operator's health page shows and ``/metrics`` reports as gauges: one reading of each
source, computed here once for both (``console.views.health``, ``console.metrics``).

Every source is read with a short bound (Redis: the connection's socket timeout; PostgreSQL:
``SOURCE_TIMEOUT_MS`` of statement timeout) and on its own: a source that fails is reported
as down (``ok=False`` with its error) and the others are still read.

    source      reads                                                   from
    ----------  ------------------------------------------------------  ----------
    usage       stream length, consumer lag and pending, dead letters   Redis (XLEN, XINFO GROUPS)
    rollups     now minus the start of the newest hourly rollup bucket          PostgreSQL
    tasks       when each Celery task last finished, and how            Redis (portal.task_runs)
    webhooks    customer webhook attempts and failures, last hour       PostgreSQL
    providers   payment provider webhooks that failed, last hour        PostgreSQL
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Q

from billing.models import EventStatus, ProviderEvent
from portal.redis import redis_client
from portal.task_runs import task_runs
from usage.events import STREAM_KEY
from usage.ingest.stream import DEAD_LETTER_KEY, GROUP
from webhooks.models import DeliveryAttempt

SOURCE_TIMEOUT_MS = 500
WINDOW = timedelta(hours=1)


@dataclass
class Reading:
    source: str
    ok: bool
    values: dict[str, Any] = field(default_factory=dict)
    error: str = ""


@dataclass
class Health:
    read_at: datetime
    readings: dict[str, Reading]

    def __getitem__(self, source: str) -> Reading:
        return self.readings[source]


@contextmanager
def _bounded_sql() -> Iterator[Any]:
    """A cursor whose statements give up after ``SOURCE_TIMEOUT_MS`` (in a transaction of its own,
    or a savepoint of the caller's; the setting ends with it)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('statement_timeout', %s, true)", [str(SOURCE_TIMEOUT_MS)])
        yield cursor
        cursor.execute("RESET statement_timeout")


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def usage_pipeline(redis: Any) -> dict[str, Any]:
    """The usage stream: its length, the consumer group's lag (entries not yet read) and pending
    entries (read, not yet acknowledged), its consumers, and the dead letters. Read only: a
    missing stream or group reads as empty."""
    pipe = redis.pipeline(transaction=False)
    pipe.xlen(STREAM_KEY)
    pipe.xlen(DEAD_LETTER_KEY)
    pipe.exists(STREAM_KEY)
    length, dead, exists = pipe.execute()
    group: dict[Any, Any] = {}
    if exists:
        group = next((g for g in redis.xinfo_groups(STREAM_KEY) if _text(g["name"]) == GROUP), {})
    # No group yet: every entry is still to be read. A lag Redis cannot compute (None, after
    # deletions) is reported as the stream length, the most it can be.
    lag = group.get("lag") if group else length
    return {
        "stream_length": int(length),
        "lag": int(length if lag is None else lag),
        "pending": int(group.get("pending", 0)),
        "consumers": int(group.get("consumers", 0)),
        "dead_letters": int(dead),
    }


def rollup_lag_seconds(*, now: datetime) -> float | None:
    """Seconds since the start of the newest hourly rollup bucket (None: no rollup yet). One
    index probe per organization (``usage_rollup_org_time``), not a scan of the rollups."""
    with _bounded_sql() as cursor:
        cursor.execute(
            "SELECT max((SELECT max(r.bucket_start) FROM usage_rollup r"
            "            WHERE r.org_id = o.id AND r.granularity = 'hour'))"
            " FROM accounts_organization o"
        )
        newest = cursor.fetchone()[0]
    return None if newest is None else max((now - newest).total_seconds(), 0.0)


def webhook_failures(*, since: datetime) -> dict[str, Any]:
    """Customer webhook attempts since ``since``: how many, how many failed (no answer or not
    2xx), and the failure rate (None without attempts)."""
    ok = Q(response_status__gte=200, response_status__lt=300)
    with _bounded_sql():
        counts = DeliveryAttempt.objects.filter(attempted_at__gte=since).aggregate(
            attempts=Count("id"), succeeded=Count("id", filter=ok)
        )
    attempts, failed = counts["attempts"], counts["attempts"] - counts["succeeded"]
    return {"attempts": attempts, "failed": failed, "failure_rate": failed / attempts if attempts else None}


def provider_errors(*, since: datetime) -> dict[str, int]:
    """Payment provider webhooks that failed (permanently or transiently) since ``since``, per provider."""
    with _bounded_sql():
        rows = (
            ProviderEvent.objects.filter(received_at__gte=since, status=EventStatus.FAILED)
            .values("provider")
            .annotate(n=Count("id"))
        )
        return {row["provider"]: row["n"] for row in rows}


def _read(source: str, read: Callable[[], dict[str, Any]]) -> Reading:
    try:
        return Reading(source, True, read())
    except Exception as exc:  # noqa: BLE001 - a source that is down must not take the others with it
        return Reading(source, False, error=f"{type(exc).__name__}: {exc}"[:300])


def health_read() -> Health:
    """One reading of every source (what the health page shows, what ``/metrics`` exports)."""
    now = datetime.now(UTC)
    since = now - WINDOW
    redis = redis_client()

    readings = [
        _read("usage", lambda: usage_pipeline(redis)),
        _read("rollups", lambda: {"lag_seconds": rollup_lag_seconds(now=now)}),
        _read("tasks", lambda: task_runs(redis)),
        _read("webhooks", lambda: webhook_failures(since=since)),
        _read("providers", lambda: provider_errors(since=since)),
    ]
    return Health(now, {reading.source: reading for reading in readings})
