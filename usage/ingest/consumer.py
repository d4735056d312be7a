"""The consumer: Redis stream → PostgreSQL, at-least-once delivery, exactly-once rows.

One pass (``IngestConsumer.step``):

1. Retry this consumer's own pending entries first (after database trouble, or when a
   restarted consumer reuses its name), else claim entries a dead consumer left pending longer
   than ``claim_idle_ms`` (``XAUTOCLAIM``), else read new ones (``XREADGROUP … >``, blocking
   up to ``block_ms``).
2. ``COPY`` every event of every entry into ``usage_event``, creating the monthly partitions
   the batch touches first, and remember which (org, hour) slices need their rollups
   recomputed — all in one transaction (``usage.ingest.writer``).
3. Only after ``COMMIT``: ``XACK`` the entries. A crash anywhere before that leaves them
   pending; they are redelivered (claimed) and the primary key drops the rows already there.

Database trouble is not bad data (``usage.ingest.errors``). A lost or refused connection,
failover, deadlock, serialization failure or timeout leaves the whole batch pending — nothing
acknowledged, nothing dead-lettered — and the consumer retries it after a backoff that doubles
from ``RETRY_BASE_SECONDS`` up to ``USAGE_INGEST_RETRY_MAX_SECONDS``. Only what cannot become
a row goes to the dead-letter stream ``usage:events:dead``: an entry that is not a JSON list
of events, or an event PostgreSQL refuses for its content (a CHECK, a bad number). Refused
events are isolated by bisecting the batch — down to single events inside an entry — so the
rest of the batch, and the rest of that entry, is stored. Entries are acknowledged only after
the dead letters' ``XADD``; ``manage.py usage_deadletters`` lists and replays them.
"""

from __future__ import annotations

import json
import logging
import random
import time
from dataclasses import dataclass, field

from django.conf import settings
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from usage.events import STREAM_FIELD, STREAM_KEY
from usage.ingest.errors import is_duplicate, refused_for_content
from usage.ingest.isolate import DB_ERRORS, dead_letters_of, write_isolating
from usage.ingest.rows import PoisonEntry, rows_of, slices_of
from usage.ingest.stream import DEAD_LETTER_KEY, DIRTY_KEY, GROUP, STATE_KEY, consumer_name, ensure_group
from usage.ingest.writer import EventWriter, fault_pause

log = logging.getLogger(__name__)

RETRY_BASE_SECONDS = 0.5


@dataclass
class BatchResult:
    entries: int = 0
    events: int = 0
    inserted: int = 0
    dead: int = 0
    claimed: int = 0
    dirty: set = field(default_factory=set)
    retry: bool = False  # database trouble: the entries stay pending for a retry
    error: str = ""


class IngestConsumer:
    def __init__(
        self,
        redis,
        *,
        name: str | None = None,
        batch: int | None = None,
        block_ms: int = 1000,
        claim_idle_ms: int | None = None,
    ) -> None:
        self.redis = redis
        self.name = name or consumer_name()
        self.batch = batch or settings.USAGE_INGEST_BATCH
        self.block_ms = block_ms
        self.claim_idle_ms = settings.USAGE_INGEST_CLAIM_IDLE_MS if claim_idle_ms is None else claim_idle_ms
        self.failures = 0  # consecutive passes that met database trouble
        self._own_pending = True  # a consumer reusing a name first finishes what it left pending
        ensure_group(redis)
        self.writer = EventWriter()

    # --- reading -------------------------------------------------------------------------
    def _read_own(self) -> list:
        response = self.redis.xreadgroup(GROUP, self.name, {STREAM_KEY: "0"}, count=self.batch)
        entries = response[0][1] if response else []
        gone = [entry_id for entry_id, fields in entries if not fields]
        if gone:  # deleted from the stream while pending: nothing left to write
            self.redis.xack(STREAM_KEY, GROUP, *gone)
        return [(entry_id, fields) for entry_id, fields in entries if fields]

    def _claim(self) -> list:
        _next, entries, *_ = self.redis.xautoclaim(
            STREAM_KEY, GROUP, self.name, min_idle_time=self.claim_idle_ms, start_id="0-0", count=self.batch
        )
        return [(entry_id, fields) for entry_id, fields in entries if fields is not None]

    def _read(self, block_ms: int | None) -> list:
        response = self.redis.xreadgroup(GROUP, self.name, {STREAM_KEY: ">"}, count=self.batch, block=block_ms)
        return response[0][1] if response else []

    def step(self, *, block: bool = True) -> BatchResult:
        claimed: list = []
        entries = self._read_own() if self._own_pending else []
        if not entries:
            self._own_pending = False
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
        units: list[tuple] = []  # (entry_id, rows, slices) of well-formed entries
        dead: list[tuple] = []  # (entry_id, payload, error)
        hours: dict[str, int] = {}

        def parse():
            # Lazily, so PostgreSQL ingests entry N while Python parses entry N+1.
            for entry_id, fields in entries:
                raw = fields.get(STREAM_FIELD.encode(), fields.get(STREAM_FIELD))
                try:
                    rows = rows_of(raw)
                    slices = slices_of(rows, hours)
                except PoisonEntry as exc:
                    dead.append((entry_id, raw if raw is not None else json.dumps(str(fields)), str(exc)))
                    continue
                units.append((entry_id, rows, slices))
                yield rows, slices

        stream = parse()
        refused: list[tuple] = []
        try:
            try:
                result.inserted = self.writer.copy_fast(stream)
            except DB_ERRORS as exc:
                duplicate = is_duplicate(exc)
                if not duplicate and not refused_for_content(exc):
                    raise
                for _ in stream:  # finish parsing what the failed COPY did not reach
                    pass
                if duplicate:  # some rows are stored already (a redelivery after a crash)
                    log.info("usage ingest: batch holds events already stored (redelivery); deduplicating")
                    result.inserted, refused = write_isolating(self.writer, units)
                else:
                    log.warning("usage ingest: PostgreSQL refused part of the batch (%s); isolating it", exc)
                    result.inserted, refused = write_isolating(self.writer, units, refusal=exc)
        except DB_ERRORS as exc:
            return self._defer(result, exc)
        dead += dead_letters_of(refused)
        for _, rows, slices in units:
            result.dirty |= slices
            result.events += len(rows)
        result.events -= sum(len(rows) for _, rows, _ in refused)
        self._after_commit(entries, dead, result)
        return result

    def _defer(self, result: BatchResult, exc: BaseException) -> BatchResult:
        """Database trouble: acknowledge nothing, dead-letter nothing; retry after a backoff."""
        self.failures += 1
        self._own_pending = True
        self.writer.reset()
        result.retry, result.error = True, str(exc).strip()
        log.warning(
            "usage ingest: database unavailable (%s); %d entries stay pending (attempt %d)",
            result.error,
            result.entries,
            self.failures,
        )
        try:  # noqa: SIM105 - the except branch says why the error is ignored
            self.redis.hset(
                STATE_KEY,
                mapping={
                    "last_error": result.error[:500],
                    "last_error_at": time.time(),
                    "consecutive_failures": self.failures,
                },
            )
        except (RedisConnectionError, RedisTimeoutError):
            pass  # the status is informative only; the entries are safe in the stream
        return result

    def retry_delay(self) -> float:
        """Seconds to wait before retrying after ``failures`` consecutive failures: doubling
        from RETRY_BASE_SECONDS, capped at USAGE_INGEST_RETRY_MAX_SECONDS, with jitter so
        several consumers do not hit a recovering database in step."""
        if not self.failures:
            return 0.0
        ceiling = settings.USAGE_INGEST_RETRY_MAX_SECONDS
        delay = min(ceiling, RETRY_BASE_SECONDS * 2 ** min(self.failures - 1, 30))
        return delay * random.uniform(0.5, 1.0)  # noqa: S311 - retry jitter, not a secret

    def _after_commit(self, entries: list, dead: list, result: BatchResult) -> None:
        fault_pause("USAGE_INGEST_TEST_PAUSE_BEFORE_ACK")
        pipe = self.redis.pipeline(transaction=False)
        if result.dirty:
            pipe.sadd(DIRTY_KEY, *result.dirty)
        for entry_id, payload, error in dead:
            pipe.xadd(DEAD_LETTER_KEY, {"entry_id": entry_id, "error": error[:2000], "payload": payload})
        # Acknowledge last: after the rows are committed and the dead letters are stored.
        pipe.xack(STREAM_KEY, GROUP, *[entry_id for entry_id, _ in entries])
        pipe.hset(
            STATE_KEY,
            mapping={
                "last_batch_at": time.time(),
                "last_consumer": self.name,
                "last_batch_entries": len(entries),
                "consecutive_failures": 0,
            },
        )
        pipe.hincrby(STATE_KEY, "events_total", result.events)
        pipe.hincrby(STATE_KEY, "inserted_total", result.inserted)
        if dead:
            pipe.hincrby(STATE_KEY, "dead_total", len(dead))
        pipe.execute()
        self.failures = 0
        result.dead = len(dead)

    # --- loops ---------------------------------------------------------------------------
    def drain(self, *, seconds: float) -> BatchResult:
        """Process until the stream is empty, the time budget is spent or the database is in
        trouble (the Celery path: the next beat tick is the retry)."""
        total = BatchResult()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            result = self.step(block=False)
            total.entries += result.entries
            total.events += result.events
            total.inserted += result.inserted
            total.dead += result.dead
            if result.retry:
                total.retry, total.error = True, result.error
                break
            if not result.entries:
                break
        return total

    def run_forever(self, *, stop=lambda: False) -> None:
        while not stop():
            try:
                result = self.step(block=True)
            except (RedisConnectionError, RedisTimeoutError) as exc:
                # Redis trouble: pending entries stay in the stream; nothing to do but wait.
                self.failures += 1
                self._own_pending = True
                log.warning("usage ingest: Redis unavailable (%s); retrying (attempt %d)", exc, self.failures)
            else:
                if not result.retry:
                    continue
            self._sleep(self.retry_delay(), stop)

    @staticmethod
    def _sleep(seconds: float, stop) -> None:
        deadline = time.monotonic() + seconds
        while not stop() and (left := deadline - time.monotonic()) > 0:
            time.sleep(min(left, 0.2))
