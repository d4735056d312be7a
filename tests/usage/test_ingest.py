"""The consumer: exactly-once rows under redelivery, poison entries kept, partitions, trim."""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import connection

from tests.usage.conftest import event_count, make_event, produce
from usage.events import STREAM_KEY
from usage.ingest import stream
from usage.ingest.consumer import IngestConsumer


def test_a_batch_lands_in_postgres_and_is_acknowledged(db, redis_client, org):
    events = [make_event(org.pk, request_id=f"r{i}") for i in range(25)]
    produce(redis_client, events)
    result = IngestConsumer(redis_client, name="t1").drain(seconds=5)
    assert (result.events, result.inserted, result.dead) == (25, 25, 0)
    assert event_count(org.pk) == 25
    assert redis_client.xpending(STREAM_KEY, stream.GROUP)["pending"] == 0
    assert redis_client.scard(stream.DIRTY_KEY) == 1


def test_replaying_the_same_batch_twice_adds_no_duplicates(db, redis_client, org):
    events = [make_event(org.pk, request_id=f"r{i}") for i in range(30)]
    produce(redis_client, events)
    produce(redis_client, events)  # the very same event ids, as after a redelivery
    consumer = IngestConsumer(redis_client, name="t1")
    first = consumer.drain(seconds=5)
    entries = redis_client.xrange(STREAM_KEY)
    again = consumer.process(entries)  # replay every entry once more
    assert first.events == 60 and first.inserted == 30
    assert again.inserted == 0
    assert event_count(org.pk) == 30


def test_pending_entries_of_a_dead_consumer_are_claimed(db, redis_client, org):
    produce(redis_client, [make_event(org.pk, request_id=f"r{i}") for i in range(10)])
    stream.ensure_group(redis_client)
    # A consumer reads, then dies before writing or acknowledging.
    redis_client.xreadgroup(stream.GROUP, "dead-one", {STREAM_KEY: ">"}, count=100)
    assert redis_client.xpending(STREAM_KEY, stream.GROUP)["pending"] == 1
    survivor = IngestConsumer(redis_client, name="survivor", claim_idle_ms=0)
    result = survivor.step(block=False)
    assert result.claimed == 1 and result.inserted == 10
    assert redis_client.xpending(STREAM_KEY, stream.GROUP)["pending"] == 0
    assert event_count(org.pk) == 10


def test_poison_entries_go_to_the_dead_letter_stream_and_good_ones_still_land(db, redis_client, org):
    produce(redis_client, [make_event(org.pk, request_id="good")])
    redis_client.xadd(STREAM_KEY, {"b": "{not json"})
    redis_client.xadd(STREAM_KEY, {"b": '[{"org_id": 1}]'})
    produce(redis_client, [make_event(org.pk, request_id="bad-status", status="abc")])
    produce(redis_client, [make_event(org.pk, request_id="good2")])
    result = IngestConsumer(redis_client, name="t1").drain(seconds=5)
    assert result.dead == 3
    assert event_count(org.pk) == 2
    dead = redis_client.xrange(stream.DEAD_LETTER_KEY)
    errors = sorted(fields[b"error"].decode() for _, fields in dead)
    assert any("not JSON" in e for e in errors)
    assert any("misses field" in e for e in errors)
    assert any("database refused" in e for e in errors)
    assert all(fields[b"payload"] for _, fields in dead)  # the payload is kept for replay
    assert redis_client.xpending(STREAM_KEY, stream.GROUP)["pending"] == 0


def test_events_of_a_month_without_partition_get_one(db, redis_client, org):
    old = datetime(2019, 3, 15, 12, tzinfo=UTC)
    produce(redis_client, [make_event(org.pk, at=old, request_id="late")])
    IngestConsumer(redis_client, name="t1").drain(seconds=5)
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM usage_event WHERE org_id = %s", [org.pk])
        assert cursor.fetchone()[0] == "usage_event_y2019m03"
        cursor.execute("SELECT count(*) FROM usage_event_default WHERE org_id = %s", [org.pk])
        assert cursor.fetchone()[0] == 0


def test_trim_keeps_pending_and_unread_entries(db, redis_client, org):
    produce(redis_client, [make_event(org.pk, request_id=f"a{i}") for i in range(30)])
    consumer = IngestConsumer(redis_client, name="t1", batch=1)
    consumer.step(block=False)  # one entry done
    redis_client.xreadgroup(stream.GROUP, "slow", {STREAM_KEY: ">"}, count=1)  # one pending elsewhere
    produce(redis_client, [make_event(org.pk, request_id="b")])  # and unread ones
    removed = stream.stream_trim(redis_client)
    assert removed == 1
    assert redis_client.xlen(STREAM_KEY) == 3
    IngestConsumer(redis_client, name="t2", claim_idle_ms=0).drain(seconds=5)
    assert event_count(org.pk) == 31
    assert stream.stream_trim(redis_client) == 3


def test_unknown_mode_or_impossible_status_is_a_dead_letter(db, redis_client, org):
    produce(redis_client, [make_event(org.pk, mode="sandbox", request_id="m")])
    produce(redis_client, [make_event(org.pk, status=42, request_id="s")])
    produce(redis_client, [make_event(org.pk, request_id="ok")])
    result = IngestConsumer(redis_client, name="t1").drain(seconds=5)
    assert (result.inserted, result.dead) == (1, 2)
    assert event_count(org.pk) == 1


def test_non_utc_timestamps_land_in_the_right_hour_and_month(db, redis_client, org):
    from datetime import timedelta, timezone

    at = datetime(2026, 11, 30, 21, 30, tzinfo=timezone(timedelta(hours=-5)))  # = 1 Dec 02:30 UTC
    produce(redis_client, [make_event(org.pk, at=at, request_id="tz")])
    IngestConsumer(redis_client, name="t1").drain(seconds=5)
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM usage_event WHERE org_id = %s", [org.pk])
        assert cursor.fetchone()[0] == "usage_event_y2026m12"
    epoch_hour = int(datetime(2026, 12, 1, 2, tzinfo=UTC).timestamp()) // 3600
    assert redis_client.sismember(stream.DIRTY_KEY, f"{org.pk}:{epoch_hour}")


def test_rows_stranded_in_the_default_partition_move_into_the_new_month(db, redis_client, org):
    stranded = make_event(org.pk, at=datetime(2018, 6, 3, tzinfo=UTC), request_id="stranded")
    with connection.cursor() as cursor:  # e.g. written by a tool that skipped partition_ensure
        cursor.execute(
            "INSERT INTO usage_event_default (id, occurred_at, org_id, api_key_prefix, mode, operation_id, method, status, "
            "units, meter, latency_ms, plan, request_id) VALUES (%s, %s, %s, 'k', 'live', 'op', 'GET', 200, 1, 'm', 1, 'p', 'r')",
            [stranded.id, stranded.occurred_at, org.pk],
        )
    produce(redis_client, [make_event(org.pk, at=datetime(2018, 6, 20, tzinfo=UTC), request_id="new")])
    result = IngestConsumer(redis_client, name="t1").drain(seconds=5)
    assert (result.inserted, result.dead) == (1, 0)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text, count(*) FROM usage_event WHERE org_id = %s GROUP BY 1", [org.pk]
        )
        assert cursor.fetchall() == [("usage_event_y2018m06", 2)]
