"""Isolating what PostgreSQL refuses for its content (``usage.ingest.consumer`` step 2).

When a batch's ``COPY`` fails because of a row's content (a CHECK, a bad number) — or because
some rows are already stored (a redelivery) — the batch is written again deduplicating, and a
refusal is isolated by bisecting: across entries, then across the events of one entry, until
the refused events stand alone. The rest of the batch, and the rest of that entry, is stored;
the refused events become one dead letter per entry (replayable as is). Database trouble is
never isolated: it propagates, and the consumer leaves the whole batch pending.
"""

from __future__ import annotations

import json
from collections import defaultdict

import psycopg
from django.db import DatabaseError

from usage.ingest.errors import refused_for_content
from usage.ingest.rows import COLUMNS
from usage.ingest.writer import EventWriter

DB_ERRORS = (DatabaseError, psycopg.Error)


def write_isolating(
    writer: EventWriter, units: list[tuple], *, refusal: BaseException | None = None
) -> tuple[int, list]:
    """Write ``units`` (deduplicating); when PostgreSQL refuses them for their content,
    bisect — across entries, then across the events of one entry — until the refused
    events stand alone. Returns (rows inserted, [(entry_id, refused rows, error)]).
    Database trouble propagates: the caller leaves the whole batch pending."""
    if not any(rows for _, rows, _ in units):
        return 0, []
    if refusal is None:
        try:
            return writer.write_dedup([(rows, slices) for _, rows, slices in units]), []
        except DB_ERRORS as exc:
            if not refused_for_content(exc):
                raise
            refusal = exc
    if len(units) == 1 and len(units[0][1]) == 1:
        entry_id, rows, _ = units[0]
        return 0, [(entry_id, rows, f"database refused: {refusal}".strip())]
    if len(units) > 1:
        mid = len(units) // 2
        halves = [units[:mid], units[mid:]]
    else:
        entry_id, rows, slices = units[0]
        mid = len(rows) // 2
        halves = [[(entry_id, rows[:mid], slices)], [(entry_id, rows[mid:], slices)]]
    inserted, refused = 0, []
    for half in halves:
        count, refused_here = write_isolating(writer, half)
        inserted += count
        refused += refused_here
    return inserted, refused


def dead_letters_of(refused: list[tuple]) -> list[tuple]:
    """One dead letter per entry, holding only its refused events (replayable as is)."""
    by_entry: dict = defaultdict(lambda: ([], []))
    for entry_id, rows, error in refused:
        by_entry[entry_id][0].extend(rows)
        by_entry[entry_id][1].append(error)
    return [
        (
            entry_id,
            json.dumps([dict(zip(COLUMNS, row, strict=False)) for row in rows]),
            "; ".join(dict.fromkeys(errors)),
        )
        for entry_id, (rows, errors) in by_entry.items()
    ]
