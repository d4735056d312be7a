"""``manage.py usage_deadletters``: list, replay (idempotently) and discard dead letters."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from tests.usage.conftest import event_count, make_event, produce
from usage.events import STREAM_KEY, pack
from usage.ingest import stream
from usage.ingest.consumer import IngestConsumer


def _command(*args) -> str:
    out = io.StringIO()
    call_command("usage_deadletters", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def dead(db, redis_client, org):
    """Two dead letters: one refused event, and served calls dead-lettered by database trouble
    (what older consumers did with a whole batch during an outage)."""
    produce(
        redis_client,
        [make_event(org.pk, status=42, request_id="refused")]
        + [make_event(org.pk, request_id=f"ok{i}") for i in range(3)],
        per_entry=4,
    )
    IngestConsumer(redis_client, name="t1").drain(seconds=5)
    lost = [make_event(org.pk, request_id=f"lost{i}") for i in range(5)]
    redis_client.xadd(
        stream.DEAD_LETTER_KEY, {"entry_id": "1-0", "error": "server closed the connection", "payload": pack(lost)}
    )
    return lost


def test_dead_letters_are_listed_with_their_error_and_event_count(dead, redis_client):
    listing = [json.loads(line) for line in _command("--json").splitlines()]

    assert [(row["events"], row["error"][:16]) for row in listing] == [(1, "database refused"), (5, "server closed th")]


def test_replayed_dead_letters_are_stored_once_even_when_replayed_twice(dead, redis_client, org):
    assert event_count(org.pk) == 3
    (lost_id,) = [row["id"] for row in map(json.loads, _command("--json").splitlines()) if row["events"] == 5]

    assert "replayed 1 dead letters (5 events)" in _command("--replay", lost_id)
    IngestConsumer(redis_client, name="t1").drain(seconds=5)
    assert event_count(org.pk) == 8
    # The same events once more (a second replay, e.g. by a colleague from a backup):
    redis_client.xadd(stream.DEAD_LETTER_KEY, {"entry_id": "1-0", "error": "again", "payload": pack(dead)})
    _command("--replay-all")  # also the refused one, which PostgreSQL refuses again
    result = IngestConsumer(redis_client, name="t1").drain(seconds=5)

    assert result.inserted == 0 and event_count(org.pk) == 8
    remaining = [json.loads(line) for line in _command("--json").splitlines()]
    assert [row["events"] for row in remaining] == [1]  # only the still-refused event
    assert redis_client.xpending(STREAM_KEY, stream.GROUP)["pending"] == 0


def test_discarded_dead_letters_are_gone(dead, redis_client):
    ids = [json.loads(line)["id"] for line in _command("--json").splitlines()]

    assert "discarded 2 dead letters" in _command("--discard", *ids)
    assert redis_client.xlen(stream.DEAD_LETTER_KEY) == 0


def test_an_unknown_dead_letter_id_is_a_clear_error(dead):
    with pytest.raises(CommandError, match="No dead letter with id 9-9"):
        _command("--replay", "9-9")
