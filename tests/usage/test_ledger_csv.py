"""The CSV ledger is safe to open in a spreadsheet: no cell is read as a formula."""

from __future__ import annotations

import csv
import io

from tests.usage.conftest import ingest, make_event
from usage.apis import csv_cell


def _ledger(member_client) -> list[dict]:
    response = member_client.get("/api/usage/ledger.csv", {"window": "30d"})
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_ledger_cells_that_a_spreadsheet_would_run_as_formulas_are_quoted(db, redis_client, org, member_client):
    hostile = {
        '=HYPERLINK("http://evil.example","x")': "+cmd|' /C calc'!A0",
        "@SUM(1+1)": "-2+3",
        "\tTAB": "\rCR",
    }
    events = [
        make_event(org.pk, request_id=request_id, operation=operation, meter="m", key="tg_live_x")
        for request_id, operation in hostile.items()
    ]
    ingest(redis_client, events)

    rows = _ledger(member_client)

    assert len(rows) == 3
    cells = {(row["request_id"], row["operation_id"]) for row in rows}
    assert cells == {("'" + request_id, "'" + operation) for request_id, operation in hostile.items()}
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), row


def test_ledger_numbers_stay_numbers_and_plain_text_is_untouched(db, redis_client, org, member_client):
    ingest(redis_client, [make_event(org.pk, request_id="req-1", operation="sms_send", units=3, latency_ms=12.5)])

    (row,) = _ledger(member_client)

    assert (row["request_id"], row["operation_id"], row["units"], row["latency_ms"]) == (
        "req-1",
        "sms_send",
        "3",
        "12.5",
    )
    assert row["occurred_at"][:4].isdigit()


def test_csv_cell_quotes_only_text_that_starts_like_a_formula():
    assert csv_cell(-5) == -5 and csv_cell(-0.5) == -0.5 and csv_cell(0) == 0
    assert csv_cell("-5") == "'-5"
    assert csv_cell("=1+1") == "'=1+1"
    assert csv_cell("a=1") == "a=1"
    assert csv_cell("") == ""
    assert csv_cell(None) is None
