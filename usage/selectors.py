"""Reads over usage (issue 4 implements). Invoices and dashboards read rollups through here.

Contract used by billing (issue 5):

    billable_units_by_meter(*, org_id, start, end) -> dict[str, int]

returns, per meter code, the units of the organization's billable events (live keys,
served requests) with ``start <= occurred_at < end`` — the same numbers the CSV usage
ledger for that period sums to.
"""

from __future__ import annotations
