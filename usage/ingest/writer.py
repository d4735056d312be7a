"""Writing a batch of rows into ``usage_event`` in one transaction (step 2 of the pass).

The fast path ``COPY``s straight into the partitioned table; a redelivered row makes the
primary key refuse it, and the batch is then written through a staging table with
``INSERT … ON CONFLICT (id, occurred_at) DO NOTHING``, so every event is stored once.
Partitions for the months a batch touches are created inside the same transaction.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from functools import partial

from django.db import DatabaseError, connection, transaction

from usage import partitions
from usage.ingest.rows import COLUMN_LIST


class EventWriter:
    def __init__(self) -> None:
        self._month_of_hour: dict[int, datetime] = {}
        # Read on first use, not here: a consumer started while PostgreSQL is down must start
        # (and keep its entries pending) rather than crash.
        self._months_present: set[datetime] | None = None

    def reset(self) -> None:
        """After database trouble: drop the (possibly broken) connection, so the next write
        reconnects, and forget what was known about partitions."""
        self._months_present = None
        if not connection.in_atomic_block:
            try:  # noqa: SIM105 - the except branch says why the error is ignored
                connection.close()
            except DatabaseError:
                pass  # already gone; Django forgets it either way

    def _months_known(self) -> None:
        # Before a COPY starts: the connection runs nothing else until the COPY ends.
        if self._months_present is None:
            self._months_present = partitions.months_present()

    def _months_missing(self, slices: set[str]) -> set[datetime]:
        months = set()
        for item in slices:
            hour = int(item.rsplit(":", 1)[1])
            month = self._month_of_hour.get(hour)
            if month is None:
                month = self._month_of_hour[hour] = datetime.fromtimestamp(hour * 3600, tz=UTC).replace(
                    day=1, hour=0, minute=0, second=0
                )
            months.add(month)
        return months - self._months_present

    def copy_fast(self, stream) -> int:
        """``COPY`` straight into ``usage_event`` — the same work as a raw COPY — in one
        transaction. Entries of a month without a partition wait for a second COPY, after the
        partition is created. A row already stored makes the primary key refuse the COPY."""
        count = 0
        deferred = []
        self._months_known()
        with transaction.atomic():
            with connection.cursor() as cursor:
                with cursor.cursor.copy(f"COPY usage_event ({COLUMN_LIST}) FROM STDIN") as copy:
                    for rows, slices in stream:
                        if self._months_missing(slices):
                            deferred.append((rows, slices))
                            continue
                        for row in rows:
                            copy.write_row(row)
                        count += len(rows)
                if deferred:
                    self._partitions_for(deferred)
                    with cursor.cursor.copy(f"COPY usage_event ({COLUMN_LIST}) FROM STDIN") as copy:
                        for rows, _slices in deferred:
                            for row in rows:
                                copy.write_row(row)
                            count += len(rows)
            fault_pause("USAGE_INGEST_TEST_PAUSE_BEFORE_COMMIT")
        return count

    def _partitions_for(self, batch: list[tuple]) -> None:
        months = set()
        for _rows, slices in batch:
            months |= self._months_missing(slices)
        for month in months:
            partitions.partition_ensure(month=month)
            transaction.on_commit(partial(self._month_created, month))

    def _month_created(self, month: datetime) -> None:
        if self._months_present is not None:
            self._months_present.add(month)

    def write_dedup(self, batch: list[tuple]) -> int:
        """COPY into a staging table, then ``INSERT … ON CONFLICT DO NOTHING``: returns new rows."""
        self._months_known()
        with transaction.atomic():
            self._partitions_for(batch)
            with connection.cursor() as cursor:
                cursor.execute(
                    "CREATE TEMP TABLE IF NOT EXISTS usage_event_stage "
                    "(LIKE usage_event INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
                )
                with cursor.cursor.copy(f"COPY usage_event_stage ({COLUMN_LIST}) FROM STDIN") as copy:
                    for rows, _slices in batch:
                        for row in rows:
                            copy.write_row(row)
                cursor.execute(
                    f"INSERT INTO usage_event ({COLUMN_LIST}) SELECT {COLUMN_LIST} FROM usage_event_stage "  # noqa: S608 - the table name is a quoted identifier built from a date
                    "ON CONFLICT (id, occurred_at) DO NOTHING"
                )
                inserted = cursor.rowcount
            fault_pause("USAGE_INGEST_TEST_PAUSE_BEFORE_COMMIT")
        return inserted


def fault_pause(name: str) -> None:
    """Fault-injection hook for the kill-mid-batch tests: sleep so a test can SIGKILL us here."""
    seconds = os.environ.get(name)
    if seconds:
        print(f"usage-ingest: paused at {name}", flush=True)  # noqa: T201 - test_consumer_crash waits for this line
        time.sleep(float(seconds))
