"""Local admission leases: admissions already counted in Redis (by ``usage.limiter.admit``'s
script) that this process may hand out without a round trip, and the refund of those left
unused when a lease ends (queued on the recorder's flush pipeline by ``leases_sweep``).

Leases are granted by the admission script only while every limit has room left, last at most
``LIMITER_LEASE_SECONDS`` and never outlive the Redis rate window they were counted in, so
limits stay exact; a key revoked in this process drops its lease at once (``leases_drop``).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from django.conf import settings

from keys.cache import on_key_killed
from usage.entitlements import quota_key, window_key

# ``Decision`` below stands for ``usage.limiter.Decision``; typed ``Any`` here because the
# limiter imports this module (a type-only import back would be an import cycle).
Decision = Any

REFUND_SCRIPT = (Path(__file__).parent / "lua" / "refund.lua").read_text()
# A lease ends this long before the Redis window it was counted in, so a leased admission is
# never spent in the next window (covers the round trip between Redis' clock and ours).
LEASE_WINDOW_MARGIN = 0.05


@dataclass(slots=True)
class _Lease:
    """Admissions already counted in Redis that this process may hand out without asking."""

    org_id: int
    key_id: int
    left: int
    decision: Decision
    ends: float  # time.monotonic()
    sw: int
    mw: int
    pstart: str


_leases: dict[tuple[int, int], _Lease] = {}
_leases_lock = threading.Lock()
_refunds: list[_Lease] = []


def take_from_lease(org_id: int, key_id: int, *, live_only: bool = False) -> Decision | _Lease | None:
    """A decision from this process's lease, else the ended lease to refund (or None).
    ``live_only``: only take from a live lease; an ended one stays for the next full call."""
    with _leases_lock:
        lease = _leases.get((org_id, key_id))
        if lease is None:
            return None
        if lease.left > 0 and time.monotonic() < lease.ends:
            lease.left -= 1
            d = lease.decision
            d.second_left = max(d.second_left - 1, 0) if d.second_left >= 0 else -1
            d.minute_left = max(d.minute_left - 1, 0) if d.minute_left >= 0 else -1
            d.quota_used += 1
            d.overage = 0 <= d.quota < d.quota_used
            return replace(d)
        if live_only:
            return None
        del _leases[(org_id, key_id)]
        return lease if lease.left > 0 else None  # refunded by the caller's script call


def leases_drop(*, org_id: int, key_id: int) -> None:
    """Forget this process's lease for a key at once (it was revoked here: ``keys.cache``
    calls this through ``on_key_killed``)."""
    with _leases_lock:
        lease = _leases.pop((org_id, key_id), None)
        if lease is not None and lease.left > 0:
            _refunds.append(lease)


on_key_killed(leases_drop)


def leases_release_all() -> None:
    """End every lease of this process now (shutdown, tests): the next sweep refunds them."""
    with _leases_lock:
        for lease in _leases.values():
            if lease.left > 0:
                _refunds.append(lease)  # noqa: PERF401 - under the lock, in place
        _leases.clear()


def leases_sweep(pipe) -> list:
    """Queue refunds of ended leases on ``pipe`` (the recorder's flush pipeline) and return
    them; if the pipeline fails, hand them to ``leases_requeue`` so no refund is lost."""
    now = time.monotonic()
    with _leases_lock:
        for key, lease in list(_leases.items()):
            if now >= lease.ends:
                del _leases[key]
                if lease.left > 0:
                    _refunds.append(lease)
        due, _refunds[:] = list(_refunds), []
    for lease in due:
        pipe.eval(
            REFUND_SCRIPT,
            2,
            window_key(lease.org_id),
            quota_key(lease.org_id),
            lease.left,
            lease.sw,
            lease.mw,
            lease.pstart,
        )
    return due


def leases_requeue(due: list) -> None:
    """Put back refunds whose pipeline failed; the next flush sends them again."""
    with _leases_lock:
        _refunds.extend(due)


def grant_lease(
    org_id: int, key_id: int, decision: Decision, *, leased: int, now_sec: int, usec: int, pstart: str
) -> None:
    decision.leased = leased
    lifetime = settings.LIMITER_LEASE_SECONDS
    into_second = usec / 1_000_000
    if decision.rps >= 0:
        lifetime = min(lifetime, 1 - into_second - LEASE_WINDOW_MARGIN)
    if decision.rpm >= 0:
        lifetime = min(lifetime, 60 - (now_sec % 60) - into_second - LEASE_WINDOW_MARGIN)
    lease = _Lease(
        org_id=org_id,
        key_id=key_id,
        left=leased,
        decision=replace(decision),
        sw=now_sec,
        mw=now_sec // 60,
        pstart=pstart,
        ends=time.monotonic() + max(lifetime, 0),
    )
    with _leases_lock:
        previous = _leases.get((org_id, key_id))
        _leases[(org_id, key_id)] = lease
        if previous is not None and previous.left > 0:
            # Two threads renewed at once: keep both reservations in one lease when they were
            # counted in the same windows, so none is left unused (that would under-admit).
            same = (
                previous.pstart == lease.pstart
                and (decision.rps < 0 or previous.sw == lease.sw)
                and (decision.rpm < 0 or previous.mw == lease.mw)
            )
            if same:
                lease.left += previous.left
            else:
                _refunds.append(previous)
