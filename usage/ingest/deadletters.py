"""The dead-letter stream ``usage:events:dead``: what the consumer could not turn into rows.

Each dead letter keeps the original ``entry_id``, the ``error`` and a ``payload`` in the stream
format (a JSON array of events), so once the cause is fixed it can be put back on the usage
stream as it is. Replaying is harmless: every event carries its id and the consumer stores an
id once (``ON CONFLICT DO NOTHING``), so a dead letter replayed twice, or replayed after its
events were stored some other way, adds nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from usage.events import STREAM_FIELD, STREAM_KEY
from usage.ingest.stream import DEAD_LETTER_KEY


@dataclass(frozen=True)
class DeadLetter:
    id: str
    entry_id: str
    error: str
    payload: bytes

    @property
    def events(self) -> int | None:
        """How many events the payload holds (None: it is not a JSON array)."""
        try:
            items = json.loads(self.payload)
        except ValueError:
            return None
        return len(items) if isinstance(items, list) else None


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def dead_letters(redis, *, ids: list[str] | None = None, count: int | None = None) -> list[DeadLetter]:
    """Dead letters, oldest first (all, the first ``count``, or exactly ``ids``)."""
    if ids:
        found = []
        for wanted in ids:
            found += redis.xrange(DEAD_LETTER_KEY, min=wanted, max=wanted)
    else:
        found = redis.xrange(DEAD_LETTER_KEY, count=count)
    return [
        DeadLetter(
            id=_text(dead_id),
            entry_id=_text(fields.get(b"entry_id", b"")),
            error=_text(fields.get(b"error", b"")),
            payload=fields.get(b"payload", b""),
        )
        for dead_id, fields in found
    ]


def dead_letter_replay(redis, *, letter: DeadLetter) -> str:
    """Put the payload back on the usage stream and remove the dead letter, atomically
    (``MULTI``): it is either still dead or queued again, never lost. Returns the new id."""
    pipe = redis.pipeline(transaction=True)
    pipe.xadd(STREAM_KEY, {STREAM_FIELD: letter.payload})
    pipe.xdel(DEAD_LETTER_KEY, letter.id)
    new_id, _ = pipe.execute()
    return _text(new_id)


def dead_letter_discard(redis, *, letter: DeadLetter) -> None:
    """Delete a dead letter for good (an operator's decision: its events are never billed)."""
    redis.xdel(DEAD_LETTER_KEY, letter.id)
