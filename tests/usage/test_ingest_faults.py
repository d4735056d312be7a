"""The consumer under real PostgreSQL faults: database trouble leaves entries pending for a
retry; only events PostgreSQL refuses for their content become dead letters, one by one."""

from __future__ import annotations

import json
import threading
import time

import psycopg
import pytest
from django.db import connection

from tests.usage.conftest import event_count, libpq_url, make_event, produce
from usage.events import STREAM_KEY
from usage.ingest import stream
from usage.ingest.consumer import IngestConsumer
from usage.tasks import usage_ingest_drain

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _forget_events(org):
    """The flush between transactional tests skips the unmanaged ``usage_event``."""
    yield
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM usage_event WHERE org_id = %s", [org.pk])


class TableLock:
    """Another session holding ACCESS EXCLUSIVE on ``usage_event``: the consumer's COPY waits."""

    def __init__(self) -> None:
        self.conn = psycopg.connect(libpq_url())
        self.conn.execute("LOCK TABLE usage_event IN ACCESS EXCLUSIVE MODE")

    def waiting_backends(self) -> list[int]:
        with psycopg.connect(libpq_url(), autocommit=True) as probe:
            rows = probe.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            ).fetchall()
        return [pid for (pid,) in rows]

    def release(self) -> None:
        self.conn.rollback()
        self.conn.close()


def _pending() -> int:
    from django_redis import get_redis_connection

    return get_redis_connection("default").xpending(STREAM_KEY, stream.GROUP)["pending"]


def test_a_statement_timeout_leaves_the_batch_pending_and_the_retry_stores_it(redis_client, org):
    produce(redis_client, [make_event(org.pk, request_id=f"r{i}") for i in range(50)])
    consumer = IngestConsumer(redis_client, name="t1")
    lock = TableLock()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET statement_timeout = '300ms'")
        result = consumer.step(block=False)
    finally:
        lock.release()

    assert redis_client.xlen(stream.DEAD_LETTER_KEY) == 0
    assert _pending() == 5  # nothing acknowledged: the entries wait for the retry
    assert result.retry and result.dead == 0 and result.inserted == 0
    assert consumer.failures == 1

    again = consumer.step(block=False)  # its own pending entries first

    assert (again.retry, again.inserted, again.dead) == (False, 50, 0)
    assert event_count(org.pk) == 50
    assert _pending() == 0 and consumer.failures == 0


def test_a_backend_terminated_mid_batch_leaves_the_batch_pending_and_the_retry_stores_it(redis_client, org):
    produce(redis_client, [make_event(org.pk, request_id=f"r{i}") for i in range(40)])
    consumer = IngestConsumer(redis_client, name="t1")
    lock = TableLock()
    killed = []

    def terminate_the_waiting_consumer():
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not killed:
            for pid in lock.waiting_backends():
                with psycopg.connect(libpq_url(), autocommit=True) as admin:
                    admin.execute("SELECT pg_terminate_backend(%s)", [pid])
                killed.append(pid)
            time.sleep(0.05)
        lock.release()

    killer = threading.Thread(target=terminate_the_waiting_consumer)
    killer.start()
    try:
        result = consumer.step(block=False)
    finally:
        killer.join(timeout=15)

    assert killed, "the consumer never waited on the lock"
    assert redis_client.xlen(stream.DEAD_LETTER_KEY) == 0
    assert _pending() == 4
    assert result.retry and result.dead == 0

    again = consumer.step(block=False)  # reconnects

    assert (again.retry, again.inserted, again.dead) == (False, 40, 0)
    assert event_count(org.pk) == 40 and _pending() == 0


def test_postgres_unreachable_leaves_entries_pending_with_a_bounded_backoff(redis_client, org, settings):
    produce(redis_client, [make_event(org.pk, request_id=f"r{i}") for i in range(10)])
    settings.USAGE_INGEST_RETRY_MAX_SECONDS = 4
    consumer = IngestConsumer(redis_client, name="t1")
    real = dict(connection.settings_dict)
    connection.close()
    connection.close_pool()  # type: ignore[attr-defined]  # PostgreSQL backend: a new pool, with the bad port
    connection.settings_dict["PORT"] = 1  # "could not connect"
    try:
        results = [consumer.step(block=False) for _ in range(8)]
    finally:
        connection.close()
        connection.close_pool()  # type: ignore[attr-defined]  # the PostgreSQL backend has one
        connection.settings_dict.update(real)

    assert _pending() == 1 and redis_client.xlen(stream.DEAD_LETTER_KEY) == 0
    assert all(r.retry and r.dead == 0 for r in results)
    assert consumer.failures == 8
    assert 2 <= consumer.retry_delay() <= 4  # doubled from 0.5 s, capped (with jitter)
    assert (
        "could not connect" in redis_client.hget(stream.STATE_KEY, "last_error").decode()
        or "connection" in redis_client.hget(stream.STATE_KEY, "last_error").decode()
    )

    consumer.step(block=False)
    assert event_count(org.pk) == 10 and _pending() == 0


def test_a_refused_event_is_dead_lettered_alone_and_the_rest_of_its_entry_is_stored(redis_client, org):
    good = [make_event(org.pk, request_id=f"g{i}") for i in range(60)]
    bad_status = make_event(org.pk, status=42, request_id="bad-status")
    bad_units = make_event(org.pk, units="many", request_id="bad-units")
    events = [*good[:20], bad_status, *good[20:45], bad_units, *good[45:]]
    produce(redis_client, events, per_entry=16)

    result = IngestConsumer(redis_client, name="t1").drain(seconds=10)

    assert (result.inserted, result.dead) == (60, 2)
    assert event_count(org.pk) == 60
    assert _pending() == 0
    dead = redis_client.xrange(stream.DEAD_LETTER_KEY)
    refused = sorted([event["request_id"] for event in json.loads(fields[b"payload"])] for _, fields in dead)
    assert refused == [["bad-status"], ["bad-units"]]  # one dead letter per entry, only its refused event
    assert all(fields[b"error"].startswith(b"database refused") for _, fields in dead)


def test_a_duplicate_is_not_a_refusal_the_batch_is_deduplicated(redis_client, org):
    events = [make_event(org.pk, request_id=f"r{i}") for i in range(20)]
    produce(redis_client, events[:10])
    IngestConsumer(redis_client, name="t1").drain(seconds=5)
    produce(redis_client, events)  # the first ten again, as after a redelivery

    result = IngestConsumer(redis_client, name="t1").drain(seconds=5)

    assert (result.inserted, result.dead) == (10, 0)
    assert event_count(org.pk) == 20


def test_the_beat_drain_stops_at_database_trouble_and_the_next_tick_stores_the_batch(redis_client, org):
    produce(redis_client, [make_event(org.pk, request_id=f"r{i}") for i in range(30)])
    lock = TableLock()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET statement_timeout = '300ms'")
        first = usage_ingest_drain()
    finally:
        lock.release()

    assert first["retry"] and first["dead"] == 0 and first["inserted"] == 0
    assert redis_client.xlen(stream.DEAD_LETTER_KEY) == 0 and _pending() == 3

    second = usage_ingest_drain()  # the next beat tick, same worker process

    assert (second["retry"], second["inserted"], second["dead"]) == (False, 30, 0)
    assert event_count(org.pk) == 30 and _pending() == 0
