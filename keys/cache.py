"""Key lookup for the hot path: in-process cache → Redis → PostgreSQL.

A warm key costs no SQL and no Redis command here: the record is served from this
process's memory. Revocation and rotation still apply on the very next request in every
process because the admission script (usage/lua/admit.lua) checks the key's "dead" marker
in the same round trip that enforces the limits. The in-process copy therefore only needs a
modest TTL (``KEY_CACHE_LOCAL_TTL``) to pick up rarer changes and bound memory.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import asdict, dataclass

from django.conf import settings

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
    return hmac.new(settings.API_KEY_PEPPER.encode(), raw.encode(), hashlib.sha256).hexdigest()


def redis_record_key(digest: str) -> str:
    return f"tg:key:{digest}"


def record_from_model(key) -> KeyRecord:
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
    from usage.limiter import redis_client

    client = redis_client()
    cached = client.get(redis_record_key(digest))
    if cached == _MISS:
        return None
    if cached:
        data = json.loads(cached)
        data["scopes"] = tuple(data["scopes"])
        return KeyRecord(**data)
    from keys.models import ApiKey

    key = ApiKey.objects.filter(digest=digest).first()
    if key is None:
        client.set(redis_record_key(digest), _MISS, ex=_NEGATIVE_REDIS_TTL)
        return None
    record = record_from_model(key)
    client.set(redis_record_key(digest), json.dumps(asdict(record)), ex=settings.KEY_CACHE_REDIS_TTL)
    return record


def key_forget(digest: str) -> None:
    """Drop the shared Redis copy (other processes' memory copies are covered by the dead marker)."""
    from usage.limiter import redis_client

    redis_client().delete(redis_record_key(digest))
    _local.pop(digest, None)
    _misses.pop(digest, None)


def local_cache_clear() -> None:
    _local.clear()
    _misses.clear()
