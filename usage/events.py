"""The usage event: the contract between the hot path (producer) and the pipeline (consumer).

One event per served request (DESIGN.md §2). Producers pack several events into one Redis
stream entry (field ``b``: a JSON array of event dicts) so the hot path pays one XADD per
batch, not per request. The consumer unpacks, writes rows keyed by ``id`` (unique, so a
redelivered entry is harmless) and acknowledges only after commit.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from keys.cache import KeyRecord

# One stream for all organizations: the consumer group spreads it over workers. (Per-org
# counters carry `{org:<id>}` hash tags; the stream is a single key on one cluster slot.)
STREAM_KEY = "usage:events"
STREAM_FIELD = "b"


def new_event_id() -> str:
    """A UUIDv7 (time-ordered) as 32 hex chars: unique, and index-friendly in PostgreSQL."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (
        (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | (rand >> 68 & 0xFFF) << 64 | 0b10 << 62 | (rand & ((1 << 62) - 1))
    )
    return f"{value:032x}"


@dataclass(slots=True)
class UsageEvent:
    org_id: int
    api_key_prefix: str
    operation_id: str
    method: str
    status: int
    units: int
    meter: str
    latency_ms: float
    plan: str
    request_id: str
    user_id: int | None = None
    api_key_id: int | None = None
    mode: str = "live"  # live or test key
    occurred_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    id: str = field(default_factory=new_event_id)

    def as_dict(self) -> dict:
        return asdict(self)


def usage_event_build(
    *,
    key: KeyRecord,
    operation_id: str,
    method: str,
    status: int,
    units: int,
    meter: str,
    plan: str,
    request_id: str,
    started: float,
) -> UsageEvent:
    """The event of one admitted call, attributed to its key; ``started`` is the
    ``time.perf_counter()`` reading taken when the request arrived."""
    return UsageEvent(
        org_id=key.org_id,
        api_key_prefix=key.prefix,
        operation_id=operation_id,
        method=method,
        status=status,
        units=units,
        meter=meter,
        latency_ms=round((time.perf_counter() - started) * 1000, 3),
        plan=plan,
        request_id=request_id,
        user_id=key.user_id,
        api_key_id=key.id,
        mode=key.mode,
    )


def pack(events: list[UsageEvent]) -> str:
    return json.dumps([e.as_dict() for e in events], separators=(",", ":"))


def unpack(payload: str | bytes) -> list[UsageEvent]:
    return [UsageEvent(**item) for item in json.loads(payload)]
