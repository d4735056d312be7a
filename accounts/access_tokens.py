"""Writes for personal access tokens: issue (the secret exists once), revoke, and the batched
last-used time. Lookups live in ``accounts.authentication``."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from accounts.models import TOKEN_PREFIX, TOKEN_VISIBLE_LENGTH, Membership, PersonalAccessToken
from accounts.scopes import scopes_grantable
from portal.crypto import secret_digest
from portal.problems import Problem

TOKEN_MAX_LIFETIME = timedelta(days=365)
TOKEN_DEFAULT_LIFETIME = timedelta(days=90)
# last_used_at is for people ("used 3 minutes ago"), so it is written at most this often.
TOKEN_TOUCH_INTERVAL = timedelta(seconds=60)


class InvalidTokenRequest(Problem):
    status, slug, title = 400, "invalid-token-request", "Invalid token request"


def personal_access_token_create(
    *, membership: Membership, name: str, scopes: list[str], expires_at: datetime | None = None
) -> tuple[PersonalAccessToken, str]:
    """Issue a token for ``membership`` and return it with its secret, the only time it exists."""
    now = timezone.now()
    name = (name or "").strip()
    expires_at = expires_at or now + TOKEN_DEFAULT_LIFETIME
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = ["A token needs a name."]
    granted = sorted(set(scopes))
    refused = sorted(set(granted) - set(scopes_grantable(is_staff=membership.user.is_staff)))
    if not granted:
        errors["scopes"] = ["Choose at least one scope."]
    elif refused:
        errors["scopes"] = [f"Not a scope you can grant: {', '.join(refused)}."]
    if expires_at <= now or expires_at > now + TOKEN_MAX_LIFETIME:
        errors["expires_at"] = [f"Choose an expiry in the next {TOKEN_MAX_LIFETIME.days} days."]
    if errors:
        raise InvalidTokenRequest(next(iter(errors.values()))[0], errors=errors)
    raw = TOKEN_PREFIX + secrets.token_urlsafe(24)  # 192 random bits
    token = PersonalAccessToken.objects.create(
        membership=membership,
        name=name[:80],
        prefix=raw[:TOKEN_VISIBLE_LENGTH],
        digest=secret_digest(raw),
        scopes=granted,
        created_at=now,
        expires_at=expires_at,
    )
    return token, raw


def personal_access_token_revoke(*, token: PersonalAccessToken) -> PersonalAccessToken:
    """Refuse the token from its next request on (every request reads it from the database)."""
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        PersonalAccessToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=token.revoked_at)
    return token


def personal_access_token_touch(*, token: PersonalAccessToken) -> None:
    """Record a use, batched: no write when the last recorded use is under a minute old, and a
    conditional UPDATE so concurrent requests of one token write once."""
    now = timezone.now()
    if token.last_used_at is not None and now - token.last_used_at < TOKEN_TOUCH_INTERVAL:
        return
    stale = Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - TOKEN_TOUCH_INTERVAL)
    PersonalAccessToken.objects.filter(stale, pk=token.pk).update(last_used_at=now)
    token.last_used_at = now
