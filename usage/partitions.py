"""Monthly partitions of ``usage_event`` (PostgreSQL declarative partitioning).

Partitions are created ahead by beat (``usage_partitions_ensure``) and on demand by the
consumer for every month a batch touches (late or early events), *before* inserting, so the
default partition — a safety net only — stays empty. (A non-empty default partition would
block creating the partition for its rows' month.)
"""

from __future__ import annotations

from datetime import UTC, datetime

import logging

from django.db import connection

PARENT = "usage_event"
DEFAULT = f"{PARENT}_default"


log = logging.getLogger(__name__)


def month_start(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return datetime(moment.year, moment.month, 1, tzinfo=UTC)


def next_month(start: datetime) -> datetime:
    return datetime(start.year + (start.month == 12), start.month % 12 + 1, 1, tzinfo=UTC)


def partition_name(start: datetime) -> str:
    return f"{PARENT}_y{start.year:04d}m{start.month:02d}"


def partitions_existing() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = %s",
            [PARENT],
        )
        return {row[0] for row in cursor.fetchall()}


def months_present() -> set[datetime]:
    """First instants (UTC) of the months that have a partition."""
    months = set()
    for name in partitions_existing():
        suffix = name.removeprefix(f"{PARENT}_y")
        if name != suffix and "m" in suffix:
            year, month = suffix.split("m")
            months.add(datetime(int(year), int(month), 1, tzinfo=UTC))
    return months


def partition_ensure(*, month: datetime) -> str:
    """Create the partition holding ``month`` if it does not exist; return its name."""
    start = month_start(month)
    name = partition_name(start)
    if name not in partitions_existing():
        end = next_month(start)
        bounds = f"FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT EXISTS (SELECT 1 FROM {DEFAULT} WHERE occurred_at >= %s AND occurred_at < %s)", [start, end]
            )
            if not cursor.fetchone()[0]:
                cursor.execute(f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF {PARENT} FOR VALUES {bounds}")
            else:
                # Rows of this month reached the default partition (written by something that
                # did not create the partition first): move them into the new partition, then
                # attach it — creating it directly would fail the default partition's check.
                log.warning("usage: moving %s rows out of the default partition", name)
                cursor.execute(f"CREATE TABLE {name} (LIKE {PARENT} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
                cursor.execute(
                    f"WITH moved AS (DELETE FROM {DEFAULT} WHERE occurred_at >= %s AND occurred_at < %s RETURNING *) "
                    f"INSERT INTO {name} SELECT * FROM moved",
                    [start, end],
                )
                cursor.execute(f"ALTER TABLE {PARENT} ATTACH PARTITION {name} FOR VALUES {bounds}")
    # No process-wide cache: a partition created in a transaction that rolls back, or
    # dropped by a migration, must not be remembered as existing (its rows would fall into
    # the default partition). Consumers keep their own short-lived set (usage.ingest.writer).
    return name


def partitions_ensure_ahead(*, now: datetime, months_ahead: int = 2) -> list[str]:
    start = month_start(now)
    names = []
    for _ in range(months_ahead + 1):
        names.append(partition_ensure(month=start))
        start = next_month(start)
    return names
