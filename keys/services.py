"""Writes for API keys: create, revoke, rotate, and the batched last-used update."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from keys.cache import KEY_PREFIXES, LAST_USED_HASH, key_digest, key_forget, key_kill
from keys.models import ApiKey, KeyMode
from plans.operations import OPERATIONS
from portal.problems import Conflict, Problem
from portal.redis import redis_client
from webhooks.events import customer_event_emit

MAX_OVERLAP = timedelta(days=30)


class InvalidKeyRequest(Problem):
    status, slug, title = 400, "invalid-key-request", "Invalid key request"


def _generate(mode: str) -> str:
    prefix = KEY_PREFIXES[0] if mode == KeyMode.LIVE else KEY_PREFIXES[1]
    return prefix + secrets.token_urlsafe(24)  # 192 random bits, 32 url-safe characters


def _known_operations() -> set[str]:
    return set(OPERATIONS)


@transaction.atomic
def api_key_create(*, org, name: str, mode: str = KeyMode.TEST, user=None, scopes: list[str] | None = None,
                   expires_at: datetime | None = None, rotated_from: ApiKey | None = None) -> tuple[ApiKey, str]:
    """Create a key and return it with the full secret — the only time the secret exists."""
    name = (name or "").strip()
    if not name:
        raise InvalidKeyRequest("A key needs a name.", errors={"name": ["This field is required."]})
    if mode not in KeyMode.values:
        raise InvalidKeyRequest(f"Mode must be one of {', '.join(KeyMode.values)}.", errors={"mode": ["Invalid mode."]})
    scopes = sorted(set(scopes or []))
    unknown = set(scopes) - _known_operations()
    if unknown:
        raise InvalidKeyRequest(f"Unknown operations: {', '.join(sorted(unknown))}.",
                                errors={"scopes": [f"Unknown operation {op!r}." for op in sorted(unknown)]})
    if expires_at is not None and expires_at <= timezone.now():
        raise InvalidKeyRequest("The expiry must be in the future.", errors={"expires_at": ["Must be in the future."]})
    raw = _generate(mode)
    key = ApiKey.objects.create(
        organization=org, name=name[:80], mode=mode, prefix=raw[: len("tg_live_") + 8], digest=key_digest(raw),
        scopes=scopes, created_by=user, expires_at=expires_at, rotated_from=rotated_from,
    )
    return key, raw


@transaction.atomic
def api_key_revoke(*, key: ApiKey, user=None) -> ApiKey:
    """Refuse the key from now on, in every process, on the next request."""
    key = ApiKey.objects.select_for_update().get(pk=key.pk)
    if key.revoked_at is not None:
        return key
    key.revoked_at = timezone.now()
    key.save(update_fields=["revoked_at"])
    transaction.on_commit(lambda: _propagate_death(key, at=key.revoked_at.timestamp()))
    return key


@transaction.atomic
def api_key_rotate(*, key: ApiKey, overlap: timedelta, user=None) -> tuple[ApiKey, str]:
    """Issue a replacement key; the old one keeps working for ``overlap``, then is refused."""
    key = ApiKey.objects.select_for_update().get(pk=key.pk)
    if key.status not in ("active",):
        raise Conflict(f"Only an active key can be rotated; this one is {key.status}.")
    if overlap < timedelta(0) or overlap > MAX_OVERLAP:
        raise InvalidKeyRequest("The overlap must be between 0 and 30 days.",
                                errors={"overlap_seconds": ["Between 0 and 2592000 seconds."]})
    new_key, raw = api_key_create(org=key.organization, name=key.name, mode=key.mode, user=user,
                                  scopes=key.scopes, expires_at=key.expires_at, rotated_from=key)
    key.overlap_until = timezone.now() + overlap
    key.save(update_fields=["overlap_until"])
    transaction.on_commit(lambda: _propagate_death(key, at=key.valid_until.timestamp()))
    return new_key, raw


def _propagate_death(key: ApiKey, *, at: float) -> None:
    # The marker is read by the admission script on every request: every process refuses
    # the key from `at` on, whatever its in-memory cache holds.
    key_kill(org_id=key.organization_id, key_id=key.pk, at=at)
    key_forget(key.digest)


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


def api_keys_notify_expiring(*, now: datetime | None = None, notice: timedelta = KEY_EXPIRY_NOTICE) -> int:
    """Send the ``key.expiring`` customer event, once per key, for keys that stop working
    within ``notice`` (their own expiry, or the end of a rotation overlap). Returns the count.

    The conditional UPDATE claims each key, so two beat runs racing announce it once.
    """
    now = now or timezone.now()
    horizon = now + notice
    candidates = ApiKey.objects.filter(revoked_at__isnull=True, expiry_notified_at__isnull=True).filter(
        Q(expires_at__gt=now, expires_at__lte=horizon) | Q(overlap_until__gt=now, overlap_until__lte=horizon)
    )
    sent = 0
    for key in candidates:
        with transaction.atomic():
            if not ApiKey.objects.filter(pk=key.pk, expiry_notified_at__isnull=True).update(expiry_notified_at=now):
                continue
            customer_event_emit(org_id=key.organization_id, type="key.expiring", data={
                "key": {"id": key.pk, "name": key.name, "prefix": key.prefix, "mode": key.mode},
                "expires_at": key.valid_until.isoformat(),
                "reason": "rotation" if key.overlap_until is not None else "expiry",
            })
            sent += 1
    return sent
