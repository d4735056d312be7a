"""Rate limits and the monthly quota: one atomic Redis script per request.

Key layout (every key of one organization carries the hash tag ``{org:<id>}`` so the script
touches a single Redis Cluster slot):

    {org:N}:ent          hash   the entitlements (plan, rps, rpm, quota, policy, grace, pstart, pend)
    {org:N}:rl           hash   current second/minute window ids and counts
    {org:N}:quota        hash   <period start epoch> -> requests admitted in that period
    {org:N}:dead:<key>   string epoch seconds after which API key <key> is refused
    {org:N}:idem:<scope>:<hash>
                         string Idempotency-Key state (pending / stored response); <scope> is the
                                API key's idempotency scope (the first key of its rotation
                                lineage), so keys never share stored responses — not test and
                                live keys, not two services' keys — while a retry with the key
                                that replaced a rotated one is still deduplicated

The script (``lua/admit.lua``) is loaded once per process and called by SHA; ``NOSCRIPT``
(Redis restarted or flushed its script cache) reloads it transparently.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from redis.exceptions import NoScriptError

from keys.cache import dead_key
from portal.redis import org_tag, redis_client
from usage.entitlements import entitlements_key, entitlements_publish, quota_key, window_key
from usage.leases import grant_lease, take_from_lease

SCRIPT = (Path(__file__).parent / "lua" / "admit.lua").read_text()
SCRIPT_SHA = hashlib.sha1(SCRIPT.encode()).hexdigest()  # noqa: S324 - EVALSHA names scripts by SHA-1; not a security use

ADMITTED, LIMIT_SECOND, LIMIT_MINUTE, LIMIT_QUOTA, KEY_DEAD, NO_ENTITLEMENTS = 0, 1, 2, 3, 4, 5
IDEM_REPLAY, IDEM_IN_PROGRESS, IDEM_MISMATCH, PLAN_EXCLUDED = 6, 7, 8, 9
IDEM_PENDING_TTL = 60


def idempotency_key(org_id: int, scope: int, key: str) -> str:
    """Where the state of the client's Idempotency-Key ``key`` lives for API-key scope ``scope``."""
    return f"{org_tag(org_id)}:idem:{scope}:{hashlib.sha256(key.encode()).hexdigest()[:32]}"


@dataclass(slots=True)
class Decision:
    code: int
    plan: str = ""
    rps: int = -1
    second_left: int = -1
    second_reset: int = 1
    rpm: int = -1
    minute_left: int = -1
    minute_reset: int = 60
    quota: int = -1
    quota_used: int = 0
    quota_reset: int = 0
    overage: bool = False
    extra: str = ""
    leased: int = 0

    @property
    def admitted(self) -> bool:
        return self.code == ADMITTED

    @property
    def retry_after(self) -> int:
        """Seconds until the limit that refused this request resets."""
        return {LIMIT_SECOND: self.second_reset, LIMIT_MINUTE: self.minute_reset, LIMIT_QUOTA: self.quota_reset}.get(
            self.code, 0
        )

    def policies(self) -> list[tuple[str, int, int, int, int]]:
        """(name, limit, window seconds, remaining, reset seconds) for each limit that applies."""
        out = []
        if self.rps >= 0:
            out.append(("second", self.rps, 1, max(self.second_left, 0), self.second_reset))
        if self.rpm >= 0:
            out.append(("minute", self.rpm, 60, max(self.minute_left, 0), self.minute_reset))
        if self.quota >= 0:
            out.append(("month", self.quota, 2_592_000, max(self.quota - self.quota_used, 0), self.quota_reset))
        return out


def _run(client, keys: list[str], args: list) -> list:
    try:
        return client.evalsha(SCRIPT_SHA, len(keys), *keys, *args)
    except NoScriptError:
        client.script_load(SCRIPT)
        return client.evalsha(SCRIPT_SHA, len(keys), *keys, *args)


def admit_local(*, org_id: int, key_id: int) -> Decision | None:
    """One admission from this process's live lease for the key, with no I/O at all; None when
    there is none (then ``admit`` decides). Async callers use it to skip a thread hop."""
    if not settings.LIMITER_LEASE_MAX:
        return None
    taken = take_from_lease(org_id, key_id, live_only=True)
    return taken if isinstance(taken, Decision) else None


def admit(
    *,
    org_id: int,
    key_id: int,
    cost: int = 1,
    idem: str | None = None,
    idem_scope: int | None = None,
    fingerprint: str = "",
    plans: frozenset[str] = frozenset(),
) -> Decision:
    """Decide and count one request: one Redis round trip (two on a cold organization), or
    none while this process holds a lease for the key.

    Leases (``LIMITER_LEASE_MAX``) are granted by the script only while every limit has at
    least ``LIMITER_LEASE_FLOOR`` room left, last at most ``LIMITER_LEASE_SECONDS`` (so a
    revoked key is refused within that time) and never outlive their rate window. Near a
    limit every request goes to the atomic script, so limits stay exact.

    ``idem`` is the client's Idempotency-Key, scoped to ``idem_scope`` (the key record's
    ``idem_scope``; default: the key itself), and ``fingerprint`` a digest of the request it
    was first used with.

    ``plans``, when not empty, are the plans that include the called API product: another
    plan is refused (``PLAN_EXCLUDED``) by the script without counting. Such calls take no
    lease (a lease is per key, not per product).
    """
    lease_max = settings.LIMITER_LEASE_MAX if (cost == 1 and not idem and not plans) else 0
    ended = None
    if lease_max:
        taken = take_from_lease(org_id, key_id)
        if isinstance(taken, Decision):
            return taken
        ended = taken
    client = redis_client()
    keys = [entitlements_key(org_id), window_key(org_id), quota_key(org_id), dead_key(org_id, key_id)]
    if idem:
        keys.append(idempotency_key(org_id, idem_scope or key_id, idem))
    args = [cost, fingerprint, IDEM_PENDING_TTL, lease_max, settings.LIMITER_LEASE_FLOOR]
    if ended is not None:  # give its unused admissions back in this same round trip
        args += [ended.left, ended.sw, ended.mw, ended.pstart]
    elif plans:
        args += [0, "", "", "", ",".join(sorted(plans))]
    raw = _run(client, keys, args)
    if raw[0] == NO_ENTITLEMENTS:
        # Cold or stale (new period) organization: publish from the database, then decide.
        entitlements_publish(org_id=org_id)
        # The first run already applied the ended lease's refund (it runs before every
        # check): retry without it, or the unused admissions would be given back twice.
        raw = _run(client, keys, args[:5] + ([0, "", "", "", args[9]] if plans else []))
    extra = raw[12]
    decision = Decision(
        code=int(raw[0]),
        plan=raw[1].decode() if isinstance(raw[1], bytes) else raw[1],
        rps=int(raw[2]),
        second_left=int(raw[3]),
        second_reset=int(raw[4]),
        rpm=int(raw[5]),
        minute_left=int(raw[6]),
        minute_reset=int(raw[7]),
        quota=int(raw[8]),
        quota_used=int(raw[9]),
        quota_reset=int(raw[10]),
        overage=bool(raw[11]),
        extra=extra.decode() if isinstance(extra, bytes) else extra,
    )
    if decision.code == ADMITTED and len(raw) > 13 and int(raw[13]) > 0:
        grant_lease(
            org_id,
            key_id,
            decision,
            leased=int(raw[13]),
            now_sec=int(raw[14]),
            usec=int(raw[15]),
            pstart=raw[16].decode() if isinstance(raw[16], bytes) else str(raw[16]),
        )
    return decision


def idempotent_response_value(*, fingerprint: str, stored: str) -> str:
    return f"D|{fingerprint}|{stored}"


def quota_used(*, org_id: int) -> int:
    """Requests admitted in the organization's current period (for reconciliation and alerts).

    While admission leases are out, this includes admissions reserved but not yet used: at
    most ``LIMITER_LEASE_MAX`` per process and key, refunded within ``LIMITER_LEASE_SECONDS``.
    """
    client = redis_client()
    pstart = client.hget(entitlements_key(org_id), "pstart")
    if pstart is None:
        entitlements_publish(org_id=org_id)
        pstart = client.hget(entitlements_key(org_id), "pstart")
    value = client.hget(quota_key(org_id), pstart)
    return int(value or 0)
