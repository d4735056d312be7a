"""Monthly partitions of ``usage_event`` (PostgreSQL declarative partitioning).

Partitions are created ahead by beat (``usage_partitions_ensure``) and on demand by the
consumer for every month a batch touches (late or early events), *before* inserting, so the
default partition — a safety net only — stays empty. (A non-empty default partition would
block creating the partition for its rows' month.) Months older than the retention horizon
are detached, then dropped (``partitions_prune``, beat daily).
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime

import psycopg
from django.db import OperationalError, connection, transaction

PARENT = "usage_event"
DEFAULT = f"{PARENT}_default"


log = logging.getLogger(__name__)


def month_start(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return datetime(moment.year, moment.month, 1, tzinfo=UTC)


def next_month(start: datetime) -> datetime:
    return month_shift(start, 1)


def month_shift(start: datetime, months: int) -> datetime:
    """The first instant of the month ``months`` away from ``start``'s month (negative: back)."""
    index = start.year * 12 + start.month - 1 + months
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


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


_MONTHLY = re.compile(rf"^{PARENT}_y(\d{{4}})m(\d{{2}})$")


def _month_of(name: str) -> datetime | None:
    match = _MONTHLY.match(name)
    return datetime(int(match[1]), int(match[2]), 1, tzinfo=UTC) if match else None


def _monthly_tables() -> dict[str, bool]:
    """Every ``usage_event_yYYYYmMM`` table → whether it is attached (a detached one is left
    by a prune that stopped between DETACH and DROP)."""
    attached = partitions_existing()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_class WHERE relkind = 'r' AND relname LIKE %s AND pg_table_is_visible(oid)",
            [f"{PARENT}_y%"],
        )
        return {name: name in attached for (name,) in cursor.fetchall() if _month_of(name)}


def partitions_prune(*, now: datetime, keep_months: int, lock_timeout_ms: int = 5000) -> list[str]:
    """Detach, then drop, the monthly partitions that end before the retention horizon: the
    current month and the ``keep_months`` whole months before it are kept, and so is every
    future month and the default partition. Returns the tables dropped.

    ``DETACH`` needs a short exclusive lock on the parent; waiting behind a long reader
    would stall every writer queued behind us, so each attempt gives up after
    ``lock_timeout_ms`` and the next run tries again. ``DROP`` then touches only the
    detached table."""
    if keep_months < 1:
        raise ValueError("keep_months must be at least 1: the current month is never dropped")
    horizon = month_shift(month_start(now), -keep_months)
    dropped = []
    for name, attached in sorted(_monthly_tables().items()):
        month = _month_of(name)
        if next_month(month) > horizon:
            continue  # holds events inside the horizon (or the current or a future month)
        if attached:
            try:
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute(f"SET LOCAL lock_timeout = {int(lock_timeout_ms)}")
                    cursor.execute(f"ALTER TABLE {PARENT} DETACH PARTITION {name}")
            except OperationalError as exc:
                if not isinstance(exc.__cause__, psycopg.errors.LockNotAvailable):
                    raise
                log.warning("usage retention: %s is busy; detaching %s postponed to the next run", PARENT, name)
                break  # every detach needs the same lock
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE {name}")
        log.info("usage retention: dropped %s (older than %s)", name, horizon.date())
        dropped.append(name)
    return dropped
