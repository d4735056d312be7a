"""Rate limits and the monthly quota: one atomic Redis script per request.

Key layout (every key of one organization carries the hash tag ``{org:<id>}`` so the script
touches a single Redis Cluster slot):

    {org:N}:ent          hash   the entitlements (plan, rps, rpm, quota, policy, grace, pstart, pend)
    {org:N}:rl           hash   current second/minute window ids and counts
    {org:N}:quota        hash   <period start epoch> -> requests admitted in that period
    {org:N}:dead:<key>   string epoch seconds after which API key <key> is refused
    {org:N}:idem:<hash>  string Idempotency-Key state (pending / stored response)

The script (``lua/admit.lua``) is loaded once per process and called by SHA; ``NOSCRIPT``
(Redis restarted or flushed its script cache) reloads it transparently.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from redis.exceptions import NoScriptError

from django_redis import get_redis_connection

SCRIPT = (Path(__file__).parent / "lua" / "admit.lua").read_text()
SCRIPT_SHA = hashlib.sha1(SCRIPT.encode()).hexdigest()

ADMITTED, LIMIT_SECOND, LIMIT_MINUTE, LIMIT_QUOTA, KEY_DEAD, NO_ENTITLEMENTS = 0, 1, 2, 3, 4, 5
IDEM_REPLAY, IDEM_IN_PROGRESS, IDEM_MISMATCH = 6, 7, 8
IDEM_PENDING_TTL = 60


_client = None


def redis_client():
    """The process's Redis client (django-redis' pool: thread-safe, hiredis parser)."""
    global _client
    if _client is None:
        _client = get_redis_connection("default")
    return _client


def org_tag(org_id: int) -> str:
    return f"{{org:{org_id}}}"


def entitlements_key(org_id: int) -> str:
    return f"{org_tag(org_id)}:ent"


def window_key(org_id: int) -> str:
    return f"{org_tag(org_id)}:rl"


def quota_key(org_id: int) -> str:
    return f"{org_tag(org_id)}:quota"


def dead_key(org_id: int, key_id: int) -> str:
    return f"{org_tag(org_id)}:dead:{key_id}"


def idempotency_key(org_id: int, key: str) -> str:
    return f"{org_tag(org_id)}:idem:{hashlib.sha256(key.encode()).hexdigest()[:32]}"


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

    @property
    def admitted(self) -> bool:
        return self.code == ADMITTED

    @property
    def retry_after(self) -> int:
        """Seconds until the limit that refused this request resets."""
        return {LIMIT_SECOND: self.second_reset, LIMIT_MINUTE: self.minute_reset,
                LIMIT_QUOTA: self.quota_reset}.get(self.code, 0)

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


def admit(*, org_id: int, key_id: int, cost: int = 1, idem: str | None = None, fingerprint: str = "") -> Decision:
    """Decide and count one request in a single Redis round trip (two on a cold organization).

    ``idem`` is the client's Idempotency-Key (scoped to the organization) and ``fingerprint``
    a digest of the request it was first used with.
    """
    client = redis_client()
    keys = [entitlements_key(org_id), window_key(org_id), quota_key(org_id), dead_key(org_id, key_id)]
    if idem:
        keys.append(idempotency_key(org_id, idem))
    args = [cost, fingerprint, IDEM_PENDING_TTL]
    raw = _run(client, keys, args)
    if raw[0] == NO_ENTITLEMENTS:
        # Cold or stale (new period) organization: publish from the database, then decide.
        from plans.services import entitlements_publish

        entitlements_publish(org_id=org_id)
        raw = _run(client, keys, args)
    extra = raw[12]
    return Decision(
        code=int(raw[0]), plan=raw[1].decode() if isinstance(raw[1], bytes) else raw[1],
        rps=int(raw[2]), second_left=int(raw[3]), second_reset=int(raw[4]),
        rpm=int(raw[5]), minute_left=int(raw[6]), minute_reset=int(raw[7]),
        quota=int(raw[8]), quota_used=int(raw[9]), quota_reset=int(raw[10]), overage=bool(raw[11]),
        extra=extra.decode() if isinstance(extra, bytes) else extra,
    )


def idempotent_response_value(*, fingerprint: str, stored: str) -> str:
    return f"D|{fingerprint}|{stored}"


def quota_used(*, org_id: int) -> int:
    """Requests admitted in the organization's current period (for reconciliation and alerts)."""
    client = redis_client()
    pstart = client.hget(entitlements_key(org_id), "pstart")
    if pstart is None:
        from plans.services import entitlements_publish

        entitlements_publish(org_id=org_id)
        pstart = client.hget(entitlements_key(org_id), "pstart")
    value = client.hget(quota_key(org_id), pstart)
    return int(value or 0)


def key_kill(*, org_id: int, key_id: int, at: float | None = None) -> None:
    """Refuse key ``key_id`` from ``at`` (epoch seconds; default now) in every process at once.

    The marker outlives every in-process key cache (``KEY_CACHE_LOCAL_TTL``) by a wide margin;
    after it expires the database copy (revoked / valid_until) keeps the key refused.
    """
    at = time.time() if at is None else at
    ttl = max(int(at - time.time()), 0) + max(settings.KEY_CACHE_LOCAL_TTL, 60) * 10 + 86400
    redis_client().set(dead_key(org_id, key_id), f"{at:.3f}", ex=ttl)
