"""The producer side of usage events: off the hot path, in batches.

``record(event)`` appends to an in-process buffer and returns at once (no I/O). A daemon
thread per process flushes the buffer every ``RECORDER_FLUSH_MS`` milliseconds, or as soon
as ``RECORDER_BATCH_SIZE`` events are waiting, as ONE stream entry per batch (``pack()``,
see usage/events.py) in one pipelined round trip that also carries:
  * the keys' last-used times (``tg:keys:last_used``, folded into the database by
    ``keys.services.api_keys_touch_last_used`` — no write per request), and
  * stored Idempotency-Key responses (written after the response, not before it), and
  * refunds of the unused part of ended admission leases (usage/limiter.py).
If Redis is unreachable the batch stays buffered (bounded) and is retried; the buffer is
flushed at interpreter exit (``atexit``), so a graceful shutdown loses nothing.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections import deque

from django.conf import settings

from keys.cache import LAST_USED_HASH
from portal.redis import redis_client
from usage.events import STREAM_FIELD, STREAM_KEY, UsageEvent, pack
from usage.leases import leases_release_all, leases_requeue, leases_sweep

log = logging.getLogger(__name__)
MAX_BUFFERED = 200_000


class Recorder:
    def __init__(self) -> None:
        self._events: deque[UsageEvent] = deque()
        self._writes: deque[tuple[str, str, int]] = deque()  # (key, value, ttl) to SET after the response
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._stopping = False

    # --- producer side (request threads) ---------------------------------------------------
    def record(self, event: UsageEvent) -> None:
        self._ensure_thread()
        self._events.append(event)  # deque.append is atomic: no lock on the hot path
        if len(self._events) >= settings.RECORDER_BATCH_SIZE:
            self._wake.set()

    def defer_set(self, key: str, value: str, ttl: int) -> None:
        self._ensure_thread()
        self._writes.append((key, value, ttl))
        self._wake.set()

    # --- flushing ---------------------------------------------------------------------------
    def _ensure_thread(self) -> None:
        if self._pid != os.getpid():  # first use in this (possibly forked) process
            with self._lock:
                if self._pid != os.getpid():
                    self._events.clear() if self._pid else None
                    self._pid = os.getpid()
                    self._thread = threading.Thread(target=self._run, name="usage-recorder", daemon=True)
                    self._thread.start()

    def _run(self) -> None:
        interval = settings.RECORDER_FLUSH_MS / 1000
        while not self._stopping:
            self._wake.wait(interval)
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # Redis down: keep the events, retry on the next tick
                log.exception("usage recorder: flush failed; %d events buffered", len(self._events))
                time.sleep(min(interval * 10, 1.0))

    def flush(self) -> int:
        """Write everything buffered now; returns the number of events written."""
        with self._lock:
            batch: list[UsageEvent] = []
            while self._events and len(batch) < 5000:
                batch.append(self._events.popleft())
            writes = []
            while self._writes:
                writes.append(self._writes.popleft())
            pipe = redis_client().pipeline(transaction=False)
            refunds = leases_sweep(pipe)
            if not batch and not writes and not refunds:
                return 0
            try:
                size = settings.RECORDER_BATCH_SIZE
                for start in range(0, len(batch), size):
                    pipe.xadd(STREAM_KEY, {STREAM_FIELD: pack(batch[start : start + size])})
                last_used: dict[int, float] = {}
                for event in batch:
                    if event.api_key_id is not None:
                        last_used[event.api_key_id] = time.time()
                if last_used:
                    pipe.hset(LAST_USED_HASH, mapping={str(k): f"{v:.3f}" for k, v in last_used.items()})
                for key, value, ttl in writes:
                    pipe.set(key, value, ex=ttl)
                pipe.execute()
            except Exception:
                # Put them back in order, bounded so a long outage cannot exhaust memory.
                self._events.extendleft(reversed(batch))
                self._writes.extendleft(reversed(writes))
                leases_requeue(refunds)
                while len(self._events) > MAX_BUFFERED:
                    self._events.pop()
                raise
            return len(batch)

    def flush_all(self) -> None:
        while self._events or self._writes:
            if not self.flush():
                break

    def pending(self) -> int:
        return len(self._events)


recorder = Recorder()


def record(event: UsageEvent) -> None:
    recorder.record(event)


@atexit.register
def _flush_at_exit() -> None:
    recorder._stopping = True
    try:
        leases_release_all()  # refund unused leased admissions with the last flush
        recorder.flush_all()
    except Exception:
        log.exception("usage recorder: could not flush %d events at exit", recorder.pending())
