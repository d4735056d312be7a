"""Writes for API keys: create, revoke, rotate, and the batched last-used update."""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.db.models import F, Max, Q
from django.utils import timezone
from redis.exceptions import RedisError

from keys.cache import KEY_PREFIXES, LAST_USED_HASH, key_digest, key_known_add, key_publish
from keys.models import ApiKey, KeyMode, KeyPropagation
from portal.problems import Conflict, Problem
from portal.redis import redis_client
from products.selectors import key_scopes_known
from webhooks.events import customer_event_emit

log = logging.getLogger(__name__)

MAX_OVERLAP = timedelta(days=30)


class InvalidKeyRequest(Problem):
    status, slug, title = 400, "invalid-key-request", "Invalid key request"


def _generate(mode: str) -> str:
    prefix = KEY_PREFIXES[0] if mode == KeyMode.LIVE else KEY_PREFIXES[1]
    return prefix + secrets.token_urlsafe(24)  # 192 random bits, 32 url-safe characters


def scope_errors(scopes: list[str]) -> list[str]:
    """One message per scope that names no product and no operation's scope."""
    unknown = sorted(set(scopes) - key_scopes_known()) if scopes else []
    return [f"Unknown scope {scope!r}: name a product (product:<slug>) or an operation's scope." for scope in unknown]


@transaction.atomic
def api_key_create(
    *,
    org,
    name: str,
    mode: str = KeyMode.TEST,
    user=None,
    scopes: list[str] | None = None,
    expires_at: datetime | None = None,
    rotated_from: ApiKey | None = None,
) -> tuple[ApiKey, str]:
    """Create a key and return it with the full secret — the only time the secret exists."""
    name = (name or "").strip()
    if not name:
        raise InvalidKeyRequest("A key needs a name.", errors={"name": ["This field is required."]})
    if mode not in KeyMode.values:
        raise InvalidKeyRequest(f"Mode must be one of {', '.join(KeyMode.values)}.", errors={"mode": ["Invalid mode."]})
    scopes = sorted(set(scopes or []))
    errors = scope_errors(scopes)
    if errors:
        raise InvalidKeyRequest("One or more scopes are unknown; see `errors`.", errors={"scopes": errors})
    if expires_at is not None and expires_at <= timezone.now():
        raise InvalidKeyRequest("The expiry must be in the future.", errors={"expires_at": ["Must be in the future."]})
    raw = _generate(mode)
    key = ApiKey.objects.create(
        organization=org,
        name=name[:80],
        mode=mode,
        prefix=raw[: len("tg_live_") + 8],
        digest=key_digest(raw),
        scopes=scopes,
        created_by=user,
        expires_at=expires_at,
        rotated_from=rotated_from,
    )
    # Known to the lookup before the secret is shown (an unknown digest is refused without SQL).
    # Redis down: the key is still created and the sweep adds it once Redis is back.
    try:
        key_known_add(key.digest)
    except RedisError as exc:
        log.warning("key %s: digest not published (%s); the propagation sweep will retry", key.pk, exc)
        KeyPropagation.objects.create(key=key, attempts=1, last_error=str(exc)[:300])
    return key, raw


@transaction.atomic
def api_key_revoke(*, key: ApiKey, user=None) -> ApiKey:
    """Refuse the key from now on, in every process, on the next request."""
    key = ApiKey.objects.select_for_update().get(pk=key.pk)
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
    # Revoking an already revoked key sends the revocation to Redis again: repeating the
    # action is how an operator makes sure, whatever happened to the first attempt.
    _propagate(key)
    return key


@transaction.atomic
def api_key_rotate(*, key: ApiKey, overlap: timedelta, user=None) -> tuple[ApiKey, str]:
    """Issue a replacement key; the old one keeps working for ``overlap``, then is refused."""
    key = ApiKey.objects.select_for_update().get(pk=key.pk)
    if key.status not in ("active",):
        raise Conflict(f"Only an active key can be rotated; this one is {key.status}.")
    if overlap < timedelta(0) or overlap > MAX_OVERLAP:
        raise InvalidKeyRequest(
            "The overlap must be between 0 and 30 days.", errors={"overlap_seconds": ["Between 0 and 2592000 seconds."]}
        )
    new_key, raw = api_key_create(
        org=key.organization,
        name=key.name,
        mode=key.mode,
        user=user,
        scopes=key.scopes,
        expires_at=key.expires_at,
        rotated_from=key,
    )
    key.overlap_until = timezone.now() + overlap
    key.save(update_fields=["overlap_until"])
    _propagate(key)
    return new_key, raw


def _propagate(key: ApiKey) -> None:
    """Record the change in the outbox (same transaction), then publish it after commit.

    The dead marker is read by the admission script on every request, so once published every
    process refuses the key from its death time on, whatever its memory holds. If Redis
    fails now, the outbox row stays and ``api_keys_propagate_pending`` publishes it later.
    """
    row = KeyPropagation.objects.create(key=key)
    transaction.on_commit(lambda: _publish(key, upto=row.pk))


def _publish(key: ApiKey, *, upto: int) -> bool:
    try:
        key_publish(key)
    except RedisError as exc:
        log.warning("key %s: change not published to Redis (%s); the propagation sweep will retry", key.pk, exc)
        KeyPropagation.objects.filter(key_id=key.pk, pk__lte=upto).update(
            attempts=F("attempts") + 1, last_error=str(exc)[:300]
        )
        return False
    KeyPropagation.objects.filter(key_id=key.pk, pk__lte=upto).delete()
    return True


def api_keys_propagate_pending(*, limit: int = 500) -> int:
    """Publish the key changes Redis has not confirmed (beat, every 5 s); the count published.

    Each key is re-read from PostgreSQL, so what is published is its current state. Stops at
    the first Redis failure: the next run tries again.
    """
    pending = (KeyPropagation.objects.values("key_id").annotate(upto=Max("id")).order_by("upto"))[:limit]
    published = 0
    for row in pending:
        key = ApiKey.objects.filter(pk=row["key_id"]).first()
        if key is None:
            continue  # deleted meanwhile: its outbox rows went with it
        if not _publish(key, upto=row["upto"]):
            break
        published += 1
    return published


def api_keys_touch_last_used() -> int:
    """Move the last-used times collected by the recorder (Redis hash) into the database.

    One UPDATE per key per run instead of a write per request. The hash is read and
    cleared atomically, so a time recorded meanwhile is kept for the next run.
    """
    client = redis_client()
    pipe = client.pipeline(transaction=True)
    pipe.hgetall(LAST_USED_HASH)
    pipe.delete(LAST_USED_HASH)
    seen, _ = pipe.execute()
    updated = 0
    for key_id, epoch in seen.items():
        when = datetime.fromtimestamp(float(epoch), tz=UTC)
        updated += ApiKey.objects.filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=when), pk=int(key_id)
        ).update(last_used_at=when)
    return updated


KEY_EXPIRY_NOTICE = timedelta(days=7)


def _expiring(*, now: datetime, notice: timedelta):
    horizon = now + notice
    return ApiKey.objects.filter(revoked_at__isnull=True, expiry_notified_at__isnull=True).filter(
        Q(expires_at__gt=now, expires_at__lte=horizon) | Q(overlap_until__gt=now, overlap_until__lte=horizon)
    )


def api_keys_expiring_org_ids(*, now: datetime | None = None, notice: timedelta = KEY_EXPIRY_NOTICE) -> list[int]:
    """The organizations with a key to announce as expiring (the beat task fans out over them)."""
    expiring = _expiring(now=now or timezone.now(), notice=notice)
    return list(expiring.order_by("organization_id").values_list("organization_id", flat=True).distinct())


def api_keys_notify_expiring(
    *, now: datetime | None = None, notice: timedelta = KEY_EXPIRY_NOTICE, org_id: int | None = None
) -> int:
    """Send the ``key.expiring`` customer event, once per key, for keys (of ``org_id``, or of
    everyone) that stop working within ``notice`` (their own expiry, or the end of a rotation
    overlap). Returns the count.

    The conditional UPDATE claims each key, so two beat runs racing announce it once.
    """
    now = now or timezone.now()
    candidates = _expiring(now=now, notice=notice)
    if org_id is not None:
        candidates = candidates.filter(organization_id=org_id)
    sent = 0
    for key in candidates:
        with transaction.atomic():
            if not ApiKey.objects.filter(pk=key.pk, expiry_notified_at__isnull=True).update(expiry_notified_at=now):
                continue
            customer_event_emit(
                org_id=key.organization_id,
                type="key.expiring",
                data={
                    "key": {"id": key.pk, "name": key.name, "prefix": key.prefix, "mode": key.mode},
                    "expires_at": key.valid_until.isoformat(),
                    "reason": "rotation" if key.overlap_until is not None else "expiry",
                },
            )
            sent += 1
    return sent
