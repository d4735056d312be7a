"""Key lookup for the hot path: in-process cache → Redis → PostgreSQL.

A warm key costs no SQL and no Redis command here: the record is served from this
process's memory. Revocation and rotation still apply on the very next request in every
process because the admission script (usage/lua/admit.lua) checks the key's "dead" marker
in the same round trip that enforces the limits. The in-process copy therefore only needs a
modest TTL (``KEY_CACHE_LOCAL_TTL``) to pick up rarer changes and bound memory.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

from django.conf import settings

from keys.models import ApiKey
from portal.crypto import secret_digest
from portal.redis import org_tag, redis_client

KEY_PREFIXES = ("tg_live_", "tg_test_")
KEY_RANDOM_CHARS = 32  # secrets.token_urlsafe(24): 192 random bits
KEY_LENGTH = len("tg_live_") + KEY_RANDOM_CHARS
_LOCAL_MAX = 50_000
# Unknown keys are remembered apart from real ones (in memory and, briefly, in Redis), so a
# flood of made-up keys costs neither a SQL query each nor the eviction of real keys.
_MISSES_MAX = 10_000
_NEGATIVE_TTL = 10.0
_NEGATIVE_REDIS_TTL = 30
_MISS = b"-"


@dataclass(frozen=True, slots=True)
class KeyRecord:
    id: int
    org_id: int
    prefix: str
    mode: str
    scopes: tuple[str, ...]  # allowed operation ids; empty = all
    valid_until: float | None  # epoch seconds (expiry or end of a rotation overlap)
    revoked: bool
    user_id: int | None

    def allows(self, operation_id: str) -> bool:
        return not self.scopes or operation_id in self.scopes

    def refusal(self, now: float | None = None) -> str | None:
        """Why this key may not be used now (checked locally; the dead marker covers news)."""
        if self.revoked:
            return "revoked"
        if self.valid_until is not None and (now or time.time()) >= self.valid_until:
            return "expired"
        return None


def key_digest(raw: str) -> str:
    return secret_digest(raw)


def redis_record_key(digest: str) -> str:
    return f"tg:key:{digest}"


def record_from_model(key: ApiKey) -> KeyRecord:
    valid_until = key.valid_until
    return KeyRecord(
        id=key.pk, org_id=key.organization_id, prefix=key.prefix, mode=key.mode,
        scopes=tuple(key.scopes or ()), valid_until=valid_until.timestamp() if valid_until else None,
        revoked=key.revoked_at is not None, user_id=key.created_by_id,
    )


# digest -> (record or None for "no such key", monotonic time it was loaded)
_local: dict[str, tuple[KeyRecord, float]] = {}
_misses: dict[str, float] = {}


def looks_like_key(raw: str) -> bool:
    return len(raw) == KEY_LENGTH and raw.startswith(KEY_PREFIXES)


def key_lookup(raw: str) -> KeyRecord | None:
    """The record for a presented key, or None if there is no such key."""
    if not looks_like_key(raw):
        return None
    digest = key_digest(raw)
    now = time.monotonic()
    hit = _local.get(digest)
    if hit is not None and now - hit[1] < settings.KEY_CACHE_LOCAL_TTL:
        return hit[0]
    missed = _misses.get(digest)
    if missed is not None and now - missed < _NEGATIVE_TTL:
        return None
    record = _load(digest)
    if record is None:
        if len(_misses) >= _MISSES_MAX:
            _misses.clear()
        _misses[digest] = now
        return None
    if len(_local) >= _LOCAL_MAX:
        _local.clear()
    _local[digest] = (record, now)
    return record


def _load(digest: str) -> KeyRecord | None:
    client = redis_client()
    cached = client.get(redis_record_key(digest))
    if cached == _MISS:
        return None
    if cached:
        data = json.loads(cached)
        data["scopes"] = tuple(data["scopes"])
        return KeyRecord(**data)
    key = ApiKey.objects.filter(digest=digest).first()
    if key is None:
        client.set(redis_record_key(digest), _MISS, ex=_NEGATIVE_REDIS_TTL)
        return None
    record = record_from_model(key)
    client.set(redis_record_key(digest), json.dumps(asdict(record)), ex=settings.KEY_CACHE_REDIS_TTL)
    return record


def key_forget(digest: str) -> None:
    """Drop the shared Redis copy (other processes' memory copies are covered by the dead marker)."""
    redis_client().delete(redis_record_key(digest))
    _local.pop(digest, None)
    _misses.pop(digest, None)


def local_cache_clear() -> None:
    _local.clear()
    _misses.clear()


# --- Revocation: the dead marker ---------------------------------------------------------
# ``{org:N}:dead:<key id>`` holds the epoch second from which the key is refused. The
# admission script (usage/lua/admit.lua) reads it in the same round trip that enforces the
# limits, so every process refuses a revoked key on its next request whatever its memory holds.

LAST_USED_HASH = "tg:keys:last_used"  # key id -> epoch seconds, written by the usage recorder

_kill_listeners: list[Callable[..., None]] = []


def dead_key(org_id: int, key_id: int) -> str:
    return f"{org_tag(org_id)}:dead:{key_id}"


def on_key_killed(listener: Callable[..., None]) -> None:
    """Call ``listener(org_id=…, key_id=…)`` whenever this process kills a key now (the
    limiter drops its local admission leases for the key)."""
    _kill_listeners.append(listener)


def key_kill(*, org_id: int, key_id: int, at: float | None = None) -> None:
    """Refuse key ``key_id`` from ``at`` (epoch seconds; default now) in every process at once.

    The marker outlives every in-process key cache (``KEY_CACHE_LOCAL_TTL``) by a wide margin;
    after it expires the database copy (revoked / valid_until) keeps the key refused.
    """
    at = time.time() if at is None else at
    ttl = max(int(at - time.time()), 0) + max(settings.KEY_CACHE_LOCAL_TTL, 60) * 10 + 86400
    redis_client().set(dead_key(org_id, key_id), f"{at:.3f}", ex=ttl)
    if at <= time.time():
        for listener in _kill_listeners:
            listener(org_id=org_id, key_id=key_id)
