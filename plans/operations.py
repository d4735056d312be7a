"""The operations the gateway sells (the catalogue), and which meter each one counts on.

Code gives each operation a default meter; the operator's ``plans.OperationMeter`` table
overrides it. The hot path reads an in-process copy that a background thread refreshes
every ``OPERATION_METERS_REFRESH`` seconds, so looking a meter up costs no SQL.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from django.db import close_old_connections, connection

from plans.selectors import operation_meters


@dataclass(frozen=True, slots=True)
class Operation:
    operation_id: str
    meter: str
    units_mode: str = "fixed"  # or "reported": the endpoint says how many units it used
    units_per_call: int = 1
    summary: str = ""


OPERATIONS: dict[str, Operation] = {
    op.operation_id: op
    for op in (
        Operation("sms_send", "sms.sent", "reported", 1, "Send an SMS (1 unit per recipient)"),
        Operation("delivery_status_get", "delivery.status_check", "fixed", 1, "Check a delivery's status"),
        Operation("ai_completion_create", "ai.tokens", "reported", 1, "Generate text (units = tokens)"),
        Operation("upstream_proxy", "", "fixed", 1, "Any call forwarded to the operator's upstream API"),
    )
}

REFRESH_SECONDS = 60.0
_table: dict[str, tuple[str, str, int]] | None = None
_loaded_at = 0.0
_refreshing = threading.Lock()


def _load() -> None:
    global _table, _loaded_at
    try:
        _table = operation_meters()
        _loaded_at = time.monotonic()
    finally:
        if threading.current_thread() is not threading.main_thread():
            close_old_connections()
            connection.close()


def _refresh_in_background() -> None:
    if not _refreshing.acquire(blocking=False):
        return

    def run():
        try:
            _load()
        except Exception:  # keep serving with the copy we have  # noqa: BLE001, S110 - keep serving with the copy we have; the next refresh retries
            pass
        finally:
            _refreshing.release()

    threading.Thread(target=run, name="operation-meters", daemon=True).start()


def meter_for(operation_id: str) -> tuple[str, str, int]:
    """(meter code, units mode, units per call) for an operation."""
    if _table is None:
        _load()  # first request of this process
    elif time.monotonic() - _loaded_at > REFRESH_SECONDS:
        _refresh_in_background()
    row = _table.get(operation_id) if _table is not None else None
    if row is not None:
        return row
    op = OPERATIONS[operation_id]
    return op.meter, op.units_mode, op.units_per_call


def table_reset() -> None:
    """Forget the in-process copy (tests, and the admin after an edit in this process)."""
    global _table
    _table = None


# One named enum for every field that takes an operation id (OpenAPI: ENUM_NAME_OVERRIDES).
OPERATION_CHOICES = [(op_id, op_id) for op_id in sorted(OPERATIONS)]
