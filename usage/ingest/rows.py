"""Stream entries → ``COPY`` rows for ``usage_event``, and the (org, hour) slices they touch.

An entry that cannot become rows raises ``PoisonEntry``; the consumer sends it to the
dead-letter stream instead of failing the batch.
"""

from __future__ import annotations

import json
import operator
from datetime import UTC, datetime

COLUMNS = (
    "id",
    "occurred_at",
    "org_id",
    "user_id",
    "api_key_id",
    "api_key_prefix",
    "mode",
    "operation_id",
    "method",
    "status",
    "units",
    "meter",
    "latency_ms",
    "plan",
    "request_id",
)
COLUMN_LIST = ", ".join(COLUMNS)


class PoisonEntry(ValueError):
    pass


_row_of = operator.itemgetter(*COLUMNS)
_OPTIONAL = ("user_id", "api_key_id")


def rows_of(payload: bytes | str) -> list[tuple]:
    """COPY rows for one stream entry; raise PoisonEntry if it is not a list of events."""
    try:
        items = json.loads(payload)
    except (TypeError, ValueError) as exc:
        raise PoisonEntry(f"not JSON: {exc}") from exc
    if not isinstance(items, list):
        raise PoisonEntry("payload is not a JSON array")
    try:
        return [_row_of(item) for item in items]  # C speed: producers send every field
    except (KeyError, TypeError):
        pass
    rows = []
    for item in items:
        if not isinstance(item, dict):
            raise PoisonEntry("event is not an object")
        try:
            rows.append(tuple(item.get(name) if name in _OPTIONAL else item[name] for name in COLUMNS))
        except KeyError as exc:
            raise PoisonEntry(f"event misses field {exc}") from exc
    return rows


def slices_of(rows: list[tuple], hours: dict[str, int]) -> set[str]:
    """The (org, UTC hour) slices of the rows, as "org_id:epoch_hour" (for the rollups).

    The hot path writes UTC ISO timestamps, so the hour is a string prefix; anything else is
    parsed. ``hours`` caches prefix → epoch hour across the batch."""
    slices = set()
    for row in rows:
        ts, org = row[1], row[2]
        if not isinstance(ts, str) or not isinstance(org, int):
            raise PoisonEntry("occurred_at must be an ISO 8601 string and org_id an integer")
        key = ts[:13] if ts.endswith(("+00:00", "Z")) else None
        if key is None or key not in hours:
            try:
                moment = datetime.fromisoformat(ts)
            except ValueError as exc:
                raise PoisonEntry(f"bad occurred_at: {exc}") from exc
            if moment.tzinfo is None:
                raise PoisonEntry("occurred_at has no time zone")
            moment = moment.astimezone(UTC)
            key = key or moment.strftime("%Y-%m-%dT%H")
            hours.setdefault(key, int(moment.timestamp()) // 3600)
        slices.add(f"{org}:{hours[key]}")
    return slices
