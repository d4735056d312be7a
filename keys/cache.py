"""Key lookup for the hot path: in-process cache → Redis → PostgreSQL.

A warm key costs no SQL and no Redis command here: the record is served from this
process's memory. Revocation and rotation still apply on the very next request in every
process because the admission script (usage/lua/admit.lua) checks the key's "dead" marker
in the same round trip that enforces the limits. The in-process copy therefore only needs a
modest TTL (``KEY_CACHE_LOCAL_TTL``) to pick up rarer changes and bound memory.

A cold key costs one Redis round trip: the shared record copy (``tg:key:<digest>``) and, in
the same pipeline, whether the digest is in the set of every key's digest prefix
(``tg:keys:known``). A made-up key is not in that set, so it is refused without a SQL query;
only a real key whose record copy expired reaches PostgreSQL. The set is filled when keys are
created and rebuilt from PostgreSQL when Redis lost it (see ``known_digests_seed``).

Bounds when Redis writes fail (the database stays the source of truth): a revocation that did
not reach Redis is retried by ``keys.services.api_keys_propagate_pending`` (beat, every 5 s);
even without it, no process serves a revoked key longer than ``KEY_CACHE_REDIS_TTL`` (the shared
copy) plus ``KEY_CACHE_LOCAL_TTL`` (the process's copy).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

from django.conf import settings
from django.db.models.functions import Substr

from keys.models import ApiKey
from portal.crypto import secret_digest
from portal.redis import org_tag, redis_client
from products.selectors import PRODUCT_SCOPE_PREFIX

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
# Every key's digest prefix, plus the member READY once the set holds every key of the
# database (both live in one Redis key, so they are lost together and never disagree).
KNOWN_DIGESTS = "tg:keys:known"
KNOWN_READY = "ready"
KNOWN_PREFIX_CHARS = 16  # 64 bits: a made-up key matches a real prefix with odds ~ keys / 2**64
_SEED_LOCK = "tg:keys:known:seeding"


@dataclass(frozen=True, slots=True)
class KeyRecord:
    id: int
    org_id: int
    prefix: str
    mode: str
    scopes: tuple[str, ...]  # operation scopes and "product:<slug>" scopes it may call; empty = all
    valid_until: float | None  # epoch seconds (expiry or end of a rotation overlap)
    revoked: bool
    user_id: int | None
    # Idempotency-Keys are scoped to this id: the first key of the rotation lineage, so a
    # client retrying with the key that replaced the old one is still deduplicated.
    idem_scope: int = 0

    def allows(self, scope: str, product_slug: str = "") -> bool:
        """May this key call an operation that requires ``scope`` (of product ``product_slug``)?"""
        if not self.scopes or scope in self.scopes:
            return True
        return bool(product_slug) and f"{PRODUCT_SCOPE_PREFIX}{product_slug}" in self.scopes

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


def known_member(digest: str) -> str:
    return digest[:KNOWN_PREFIX_CHARS]


def lineage_root(key: ApiKey) -> int:
    """The id of the first key of ``key``'s rotation lineage (``key`` itself if never rotated)."""
    root, parent = key.pk, key.rotated_from_id
    for _ in range(100):  # rotation chains are short; a bound keeps a corrupt chain harmless
        if parent is None:
            break
        root, parent = parent, ApiKey.objects.filter(pk=parent).values_list("rotated_from_id", flat=True).first()
    return root


def record_from_model(key: ApiKey) -> KeyRecord:
    valid_until = key.valid_until
    return KeyRecord(
        id=key.pk,
        org_id=key.organization_id,
        prefix=key.prefix,
        mode=key.mode,
        scopes=tuple(key.scopes or ()),
        valid_until=valid_until.timestamp() if valid_until else None,
        revoked=key.revoked_at is not None,
        user_id=key.created_by_id,
        idem_scope=lineage_root(key),
    )


# digest -> (record or None for "no such key", monotonic time it was loaded)
_local: dict[str, tuple[KeyRecord, float]] = {}
_misses: dict[str, float] = {}


def looks_like_key(raw: str) -> bool:
    return len(raw) == KEY_LENGTH and raw.startswith(KEY_PREFIXES)


def key_in_memory(raw: str) -> KeyRecord | None:
    """The record of ``raw`` if this process holds a fresh copy (no I/O), else None."""
    if not looks_like_key(raw):
        return None
    hit = _local.get(key_digest(raw))
    if hit is not None and time.monotonic() - hit[1] < settings.KEY_CACHE_LOCAL_TTL:
        return hit[0]
    return None


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
    pipe = client.pipeline(transaction=False)
    pipe.get(redis_record_key(digest))
    pipe.smismember(KNOWN_DIGESTS, [KNOWN_READY, known_member(digest)])
    cached, (ready, known) = pipe.execute()
    if cached == _MISS:
        return None
    if cached:
        data = json.loads(cached)
        data["scopes"] = tuple(data["scopes"])
        return KeyRecord(**data)
    if ready and not known:
        return None  # no key has this digest: no SQL query for a made-up key
    key = ApiKey.objects.filter(digest=digest).first()
    if not ready:
        known_digests_seed()
    if key is None:
        client.set(redis_record_key(digest), _MISS, ex=_NEGATIVE_REDIS_TTL)
        return None
    record = record_from_model(key)
    client.set(redis_record_key(digest), json.dumps(asdict(record)), ex=settings.KEY_CACHE_REDIS_TTL)
    return record


def known_digests_seed() -> bool:
    """Fill the known-digest set from PostgreSQL, one process at a time; whether this call did.

    Called by a lookup that found the set not ready (Redis is new, or lost its data) — the other
    processes keep looking unknown keys up in PostgreSQL meanwhile — and hourly by beat
    (``keys.tasks.api_keys_known_refresh_task``). Keys created meanwhile add themselves
    (``key_known_add``) before they commit, so the union is complete; the hourly pass also
    covers a key whose addition was lost with Redis' data before its creation committed.
    """
    client = redis_client()
    if not client.set(_SEED_LOCK, "1", nx=True, ex=60):
        return False
    try:
        members = []
        prefixes = ApiKey.objects.annotate(known=Substr("digest", 1, KNOWN_PREFIX_CHARS)).values_list(
            "known", flat=True
        )
        for member in prefixes.iterator(chunk_size=5000):
            members.append(member)
            if len(members) >= 5000:
                client.sadd(KNOWN_DIGESTS, *members)
                members = []
        client.sadd(KNOWN_DIGESTS, *members, KNOWN_READY)
    finally:
        client.delete(_SEED_LOCK)
    return True


def key_known_add(digest: str) -> None:
    """Add a new key to the known-digest set (before its creation commits: a rolled-back key
    left in the set only costs a SQL query if someone ever presents it)."""
    redis_client().sadd(KNOWN_DIGESTS, known_member(digest))


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


def _marker_ttl(at: float) -> int:
    # The marker outlives every in-process key cache (``KEY_CACHE_LOCAL_TTL``) by a wide margin;
    # after it expires the database copy (revoked / valid_until) keeps the key refused.
    return max(int(at - time.time()), 0) + max(settings.KEY_CACHE_LOCAL_TTL, 60) * 10 + 86400


def _killed_here(*, org_id: int, key_id: int, at: float) -> None:
    if at <= time.time():
        for listener in _kill_listeners:
            listener(org_id=org_id, key_id=key_id)


def key_kill(*, org_id: int, key_id: int, at: float | None = None) -> None:
    """Refuse key ``key_id`` from ``at`` (epoch seconds; default now) in every process at once."""
    at = time.time() if at is None else at
    redis_client().set(dead_key(org_id, key_id), f"{at:.3f}", ex=_marker_ttl(at))
    _killed_here(org_id=org_id, key_id=key_id, at=at)


def key_death(key: ApiKey) -> float | None:
    """Epoch seconds from which a revoked or rotated-out key is refused (None: it is not)."""
    if key.revoked_at is None and key.overlap_until is None:
        return None
    ends = [t for t in (key.revoked_at, key.valid_until) if t is not None]
    return min(ends).timestamp()


def key_publish(key: ApiKey) -> None:
    """Make Redis agree with the database about ``key``, in one round trip.

    Its digest is known to the lookup, its shared record copy is dropped (the next lookup
    reads PostgreSQL) and, if it is revoked or rotated out, its dead marker is set. Idempotent,
    so a failed publish is simply repeated (``keys.services.api_keys_propagate_pending``).
    """
    at = key_death(key)
    pipe = redis_client().pipeline(transaction=False)
    pipe.sadd(KNOWN_DIGESTS, known_member(key.digest))
    if at is not None:
        pipe.set(dead_key(key.organization_id, key.pk), f"{at:.3f}", ex=_marker_ttl(at))
    pipe.delete(redis_record_key(key.digest))
    pipe.execute()
    _local.pop(key.digest, None)
    _misses.pop(key.digest, None)
    if at is not None:
        _killed_here(org_id=key.organization_id, key_id=key.pk, at=at)
