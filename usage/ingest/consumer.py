"""The consumer: Redis stream → PostgreSQL, at-least-once delivery, exactly-once rows.

One pass (``IngestConsumer.step``):

1. Claim entries a dead consumer left pending longer than ``claim_idle_ms`` (``XAUTOCLAIM``),
   else read new ones (``XREADGROUP … >``, blocking up to ``block_ms``).
2. ``COPY`` every event of every entry into a temporary staging table, create the monthly
   partitions the batch touches, ``INSERT … SELECT … ON CONFLICT (id, occurred_at) DO NOTHING``
   into ``usage_event`` and remember which (org, hour) slices need their rollups recomputed —
   all in one transaction (``usage.ingest.writer``).
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
import time
from dataclasses import dataclass, field

import psycopg
from django.conf import settings
from django.db import DatabaseError, IntegrityError

from usage.events import STREAM_FIELD, STREAM_KEY
from usage.ingest.rows import PoisonEntry, rows_of, slices_of
from usage.ingest.stream import DEAD_LETTER_KEY, DIRTY_KEY, GROUP, STATE_KEY, consumer_name, ensure_group
from usage.ingest.writer import EventWriter, fault_pause

log = logging.getLogger(__name__)


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
        self.writer = EventWriter()

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
                    rows = rows_of(fields.get(STREAM_FIELD.encode(), fields.get(STREAM_FIELD)))
                    slices = slices_of(rows, hours)
                except PoisonEntry as exc:
                    dead.append((entry_id, fields, str(exc)))
                    continue
                parsed.append((entry_id, rows, slices))
                yield rows, slices

        stream = parse()
        try:
            result.inserted = self.writer.copy_fast(stream)
        except (IntegrityError, psycopg.errors.UniqueViolation) as exc:
            if not isinstance(exc, psycopg.errors.UniqueViolation) and not isinstance(
                exc.__cause__, psycopg.errors.UniqueViolation
            ):
                raise
            # Some rows are already stored (a redelivery after a crash): deduplicate.
            log.info("usage ingest: batch holds events already stored (redelivery); deduplicating")
            for _ in stream:  # finish parsing what the failed COPY did not reach
                pass
            result.inserted = self.writer.write_dedup([(rows, slices) for _, rows, slices in parsed])
        except (DatabaseError, psycopg.Error) as exc:
            # One value PostgreSQL refuses fails the whole COPY: replay entry by entry.
            log.warning("usage ingest: bulk write failed (%s); retrying entry by entry", exc)
            for _ in stream:
                pass
            for entry_id, rows, slices in list(parsed):
                try:
                    result.inserted += self.writer.write_dedup([(rows, slices)])
                except (DatabaseError, psycopg.Error) as entry_exc:
                    fields = next(f for i, f in entries if i == entry_id)
                    dead.append((entry_id, fields, f"database refused: {entry_exc}".strip()))
                    parsed.remove((entry_id, rows, slices))
        for _, rows, slices in parsed:
            result.dirty |= slices
            result.events += len(rows)
        self._after_commit(entries, dead, result)
        return result

    def _after_commit(self, entries: list, dead: list, result: BatchResult) -> None:
        fault_pause("USAGE_INGEST_TEST_PAUSE_BEFORE_ACK")
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
