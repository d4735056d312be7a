"""The consumer: Redis stream → PostgreSQL, at-least-once delivery, exactly-once rows.

One pass (``IngestConsumer.step``):

1. Claim entries a dead consumer left pending longer than ``claim_idle_ms`` (``XAUTOCLAIM``),
   else read new ones (``XREADGROUP … >``, blocking up to ``block_ms``).
2. ``COPY`` every event of every entry into a temporary staging table, create the monthly
   partitions the batch touches, ``INSERT … SELECT … ON CONFLICT (id, occurred_at) DO NOTHING``
   into ``usage_event`` and remember which (org, hour) slices need their rollups recomputed —
   all in one transaction.
3. Only after ``COMMIT``: ``XACK`` the entries. A crash anywhere before that leaves them
   pending; they are redelivered (claimed) and the primary key drops the rows already there.

A bad entry (unparseable JSON, unknown fields, a value PostgreSQL refuses) makes the bulk
transaction fail; the batch is then replayed entry by entry, and the entries that still fail
go to the dead-letter stream ``usage:events:dead`` with the error — and are acknowledged only
after that ``XADD`` succeeded — so nothing is silently dropped.
"""

from __future__ import annotations

import json
import logging
import os
import operator
import socket
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import psycopg
from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction

from usage import partitions
from usage.events import STREAM_FIELD, STREAM_KEY

log = logging.getLogger(__name__)

GROUP = "usage-ingest"
DEAD_LETTER_KEY = f"{STREAM_KEY}:dead"
DIRTY_KEY = "usage:rollup:dirty"  # set of "org_id:epoch_hour" awaiting rollup
STATE_KEY = "usage:ingest:state"  # hash: visible consumer state (operator overview, --status)

COLUMNS = (
    "id", "occurred_at", "org_id", "user_id", "api_key_id", "api_key_prefix", "mode", "operation_id",
    "method", "status", "units", "meter", "latency_ms", "plan", "request_id",
)
_COLS = ", ".join(COLUMNS)


class PoisonEntry(ValueError):
    pass


_row_of = operator.itemgetter(*COLUMNS)
_OPTIONAL = ("user_id", "api_key_id")


def _rows_of(payload: bytes | str) -> list[tuple]:
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


def _slices_of(rows: list[tuple], hours: dict[str, int]) -> set[str]:
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


def ensure_group(redis) -> None:
    try:
        # From the beginning ("0"), so events produced before the first consumer ran are kept.
        redis.xgroup_create(STREAM_KEY, GROUP, id="0", mkstream=True)
    except Exception as exc:  # BUSYGROUP: exists already
        if "BUSYGROUP" not in str(exc):
            raise


def consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


@dataclass
class BatchResult:
    entries: int = 0
    events: int = 0
    inserted: int = 0
    dead: int = 0
    claimed: int = 0
    dirty: set = field(default_factory=set)


class IngestConsumer:
    def __init__(self, redis, *, name: str | None = None, batch: int | None = None, block_ms: int = 1000,
                 claim_idle_ms: int | None = None) -> None:
        self.redis = redis
        self.name = name or consumer_name()
        self.batch = batch or settings.USAGE_INGEST_BATCH
        self.block_ms = block_ms
        self.claim_idle_ms = settings.USAGE_INGEST_CLAIM_IDLE_MS if claim_idle_ms is None else claim_idle_ms
        ensure_group(redis)
        self._month_of_hour: dict[int, datetime] = {}
        self._months_present = partitions.months_present()

    # --- reading -------------------------------------------------------------------------
    def _claim(self) -> list:
        _next, entries, *_ = self.redis.xautoclaim(
            STREAM_KEY, GROUP, self.name, min_idle_time=self.claim_idle_ms, start_id="0-0", count=self.batch
        )
        return [(entry_id, fields) for entry_id, fields in entries if fields is not None]

    def _read(self, block_ms: int | None) -> list:
        response = self.redis.xreadgroup(GROUP, self.name, {STREAM_KEY: ">"}, count=self.batch, block=block_ms)
        return response[0][1] if response else []

    def step(self, *, block: bool = True) -> BatchResult:
        claimed = self._claim()
        entries = claimed or self._read(self.block_ms if block else None)
        result = self.process(entries)
        result.claimed = len(claimed)
        return result

    # --- writing -------------------------------------------------------------------------
    def process(self, entries: list) -> BatchResult:
        result = BatchResult(entries=len(entries))
        if not entries:
            return result
        parsed: list[tuple] = []  # (entry_id, rows, slices) of well-formed entries
        dead: list[tuple] = []  # (entry_id, fields, error)
        hours: dict[str, int] = {}

        def parse():
            # Lazily, so PostgreSQL ingests entry N while Python parses entry N+1.
            for entry_id, fields in entries:
                try:
                    rows = _rows_of(fields.get(STREAM_FIELD.encode(), fields.get(STREAM_FIELD)))
                    slices = _slices_of(rows, hours)
                except PoisonEntry as exc:
                    dead.append((entry_id, fields, str(exc)))
                    continue
                parsed.append((entry_id, rows, slices))
                yield rows, slices

        stream = parse()
        try:
            result.inserted = self._copy_fast(stream)
        except (IntegrityError, psycopg.errors.UniqueViolation) as exc:
            if not isinstance(exc, psycopg.errors.UniqueViolation) and not isinstance(
                exc.__cause__, psycopg.errors.UniqueViolation
            ):
                raise
            # Some rows are already stored (a redelivery after a crash): deduplicate.
            log.info("usage ingest: batch holds events already stored (redelivery); deduplicating")
            for _ in stream:  # finish parsing what the failed COPY did not reach
                pass
            result.inserted = self._write_dedup([(rows, slices) for _, rows, slices in parsed])
        except (DatabaseError, psycopg.Error) as exc:
            # One value PostgreSQL refuses fails the whole COPY: replay entry by entry.
            log.warning("usage ingest: bulk write failed (%s); retrying entry by entry", exc)
            for _ in stream:
                pass
            for entry_id, rows, slices in list(parsed):
                try:
                    result.inserted += self._write_dedup([(rows, slices)])
                except (DatabaseError, psycopg.Error) as entry_exc:
                    fields = next(f for i, f in entries if i == entry_id)
                    dead.append((entry_id, fields, f"database refused: {entry_exc}".strip()))
                    parsed.remove((entry_id, rows, slices))
        for _, rows, slices in parsed:
            result.dirty |= slices
            result.events += len(rows)
        self._after_commit(entries, dead, result)
        return result

    def _months_missing(self, slices: set[str]) -> set[datetime]:
        months = set()
        for item in slices:
            hour = int(item.rsplit(":", 1)[1])
            month = self._month_of_hour.get(hour)
            if month is None:
                month = self._month_of_hour[hour] = datetime.fromtimestamp(hour * 3600, tz=UTC).replace(
                    day=1, hour=0, minute=0, second=0)
            months.add(month)
        return months - self._months_present

    def _copy_fast(self, stream) -> int:
        """``COPY`` straight into ``usage_event`` — the same work as a raw COPY — in one
        transaction. Entries of a month without a partition wait for a second COPY, after the
        partition is created. A row already stored makes the primary key refuse the COPY."""
        count = 0
        deferred = []
        with transaction.atomic():
            with connection.cursor() as cursor:
                with cursor.cursor.copy(f"COPY usage_event ({_COLS}) FROM STDIN") as copy:
                    for rows, slices in stream:
                        if self._months_missing(slices):
                            deferred.append((rows, slices))
                            continue
                        for row in rows:
                            copy.write_row(row)
                        count += len(rows)
                if deferred:
                    self._partitions_for(deferred)
                    with cursor.cursor.copy(f"COPY usage_event ({_COLS}) FROM STDIN") as copy:
                        for rows, _slices in deferred:
                            for row in rows:
                                copy.write_row(row)
                            count += len(rows)
            _test_pause("USAGE_INGEST_TEST_PAUSE_BEFORE_COMMIT")
        return count

    def _partitions_for(self, batch: list[tuple]) -> None:
        months = set()
        for _rows, slices in batch:
            months |= self._months_missing(slices)
        for month in months:
            partitions.partition_ensure(month=month)
            transaction.on_commit(lambda month=month: self._months_present.add(month))

    def _write_dedup(self, batch: list[tuple]) -> int:
        """COPY into a staging table, then ``INSERT … ON CONFLICT DO NOTHING``: returns new rows."""
        with transaction.atomic():
            self._partitions_for(batch)
            with connection.cursor() as cursor:
                cursor.execute(
                    "CREATE TEMP TABLE IF NOT EXISTS usage_event_stage "
                    "(LIKE usage_event INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
                )
                with cursor.cursor.copy(f"COPY usage_event_stage ({_COLS}) FROM STDIN") as copy:
                    for rows, _slices in batch:
                        for row in rows:
                            copy.write_row(row)
                cursor.execute(
                    f"INSERT INTO usage_event ({_COLS}) SELECT {_COLS} FROM usage_event_stage "
                    "ON CONFLICT (id, occurred_at) DO NOTHING"
                )
                inserted = cursor.rowcount
            _test_pause("USAGE_INGEST_TEST_PAUSE_BEFORE_COMMIT")
        return inserted

    def _after_commit(self, entries: list, dead: list, result: BatchResult) -> None:
        _test_pause("USAGE_INGEST_TEST_PAUSE_BEFORE_ACK")
        pipe = self.redis.pipeline(transaction=False)
        if result.dirty:
            pipe.sadd(DIRTY_KEY, *result.dirty)
        for entry_id, fields, error in dead:
            raw = fields.get(STREAM_FIELD.encode(), fields.get(STREAM_FIELD)) if isinstance(fields, dict) else None
            pipe.xadd(DEAD_LETTER_KEY, {"entry_id": entry_id, "error": error[:2000], "payload": raw if raw is not None else json.dumps(str(fields))})
        # Acknowledge last: after the rows are committed and the dead letters are stored.
        pipe.xack(STREAM_KEY, GROUP, *[entry_id for entry_id, _ in entries])
        pipe.hset(STATE_KEY, mapping={
            "last_batch_at": time.time(), "last_consumer": self.name, "last_batch_entries": len(entries),
        })
        pipe.hincrby(STATE_KEY, "events_total", result.events)
        pipe.hincrby(STATE_KEY, "inserted_total", result.inserted)
        if dead:
            pipe.hincrby(STATE_KEY, "dead_total", len(dead))
        pipe.execute()
        result.dead = len(dead)

    # --- loops ---------------------------------------------------------------------------
    def drain(self, *, seconds: float) -> BatchResult:
        """Process until the stream is empty or the time budget is spent (the Celery path)."""
        total = BatchResult()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            result = self.step(block=False)
            total.entries += result.entries
            total.events += result.events
            total.inserted += result.inserted
            total.dead += result.dead
            if not result.entries:
                break
        return total

    def run_forever(self, *, stop=lambda: False) -> None:
        while not stop():
            self.step(block=True)


def _test_pause(name: str) -> None:
    """Fault-injection hook for the kill-mid-batch tests: sleep so a test can SIGKILL us here."""
    seconds = os.environ.get(name)
    if seconds:
        print(f"usage-ingest: paused at {name}", flush=True)
        time.sleep(float(seconds))


def stream_trim(redis) -> int:
    """Trim acknowledged entries: keep everything from the oldest pending entry (or, with
    nothing pending, from the first undelivered one) onwards. Returns entries removed."""
    ensure_group(redis)
    groups = redis.xinfo_groups(STREAM_KEY)
    floor = None
    for group in groups:
        name = group["name"].decode() if isinstance(group["name"], bytes) else group["name"]
        pending = redis.xpending(STREAM_KEY, name)
        last = group["last-delivered-id"]
        last = last.decode() if isinstance(last, bytes) else last
        if pending["pending"]:
            candidate = pending["min"].decode() if isinstance(pending["min"], bytes) else pending["min"]
        else:
            ms, seq = (int(x) for x in last.split("-"))
            candidate = f"{ms}-{seq + 1}"
        floor = candidate if floor is None or _id_lt(candidate, floor) else floor
    # Forget consumers of restarted processes (nothing pending, silent for a day).
    for consumer in redis.xinfo_consumers(STREAM_KEY, GROUP):
        if not consumer["pending"] and consumer["idle"] > 86_400_000:
            redis.xgroup_delconsumer(STREAM_KEY, GROUP, consumer["name"])
    if floor is None:
        return 0
    return redis.xtrim(STREAM_KEY, minid=floor, approximate=False)


def _id_lt(a: str, b: str) -> bool:
    return tuple(int(x) for x in a.split("-")) < tuple(int(x) for x in b.split("-"))


def ingest_status(redis) -> dict:
    """What the operator sees: stream length, lag, pending, dead letters, last batch."""
    ensure_group(redis)
    info = {k.decode(): v.decode() for k, v in redis.hgetall(STATE_KEY).items()}
    group = next((g for g in redis.xinfo_groups(STREAM_KEY) if g["name"] in (GROUP, GROUP.encode())), {})
    info.update({
        "stream_length": redis.xlen(STREAM_KEY),
        "pending": group.get("pending", 0),
        "lag": group.get("lag"),
        "consumers": group.get("consumers", 0),
        "dead_letters": redis.xlen(DEAD_LETTER_KEY),
        "dirty_slices": redis.scard(DIRTY_KEY),
    })
    return info
