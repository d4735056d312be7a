from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from usage.events import STREAM_KEY, UsageEvent, pack
from usage.ingest.consumer import IngestConsumer


def make_event(
    org_id: int,
    *,
    at: datetime | None = None,
    status: int = 200,
    units: int = 1,
    mode: str = "live",
    key: str = "tg_live_abcd",
    operation: str = "sms_send",
    meter: str = "sms.sent",
    latency_ms: float = 20.0,
    **extra,
) -> UsageEvent:
    return UsageEvent(
        org_id=org_id,
        api_key_prefix=key,
        operation_id=operation,
        method="POST",
        status=status,
        units=units,
        meter=meter,
        latency_ms=latency_ms,
        plan="free",
        request_id=extra.pop("request_id", "req"),
        mode=mode,
        occurred_at=(at or datetime.now(UTC)).isoformat(),
        **extra,
    )


def produce(redis, events: list[UsageEvent], *, per_entry: int = 10) -> list[bytes]:
    """XADD packed entries exactly as the hot path does (field ``b``, JSON array)."""
    return [redis.xadd(STREAM_KEY, {"b": pack(events[i : i + per_entry])}) for i in range(0, len(events), per_entry)]


def event_count(org_id: int | None = None) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        if org_id is None:
            cursor.execute("SELECT count(*) FROM usage_event")
        else:
            cursor.execute("SELECT count(*) FROM usage_event WHERE org_id = %s", [org_id])
        return cursor.fetchone()[0]


@pytest.fixture
def hour_ago():
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)


def ingest(redis, events: list[UsageEvent]) -> None:
    """Produce the events onto the stream, run the consumer and the rollup, as beat would."""
    from usage.tasks import usage_rollup_dirty

    produce(redis, events)
    IngestConsumer(redis, name="test").drain(seconds=10)
    usage_rollup_dirty()


@pytest.fixture
def free_plan(db):
    from plans.models import Plan

    return Plan.objects.update_or_create(code="free", defaults={"name": "Free", "monthly_quota": 100})[0]


def admit(org_id: int, n: int, *, key_id: int = 1) -> None:
    """Count n requests against the quota exactly as the hot path does (the admission script)."""
    from usage.limiter import admit as hot_path_admit

    for _ in range(n):
        assert hot_path_admit(org_id=org_id, key_id=key_id).admitted


def libpq_url() -> str:
    """libpq URL of the test database (for a second, independent connection or a subprocess)."""
    from django.db import connection

    s = connection.settings_dict
    return f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
