"""The test key behind the docs' "Try it" and the signed-in code samples.

Keys are stored as digests, so the docs cannot show a key the developer made. The docs make
their own **test** key per (developer, organization) — named "Docs test key" so it is
recognisable (and revocable) on the keys page — and keep its secret encrypted at rest
(``portal.crypto``). A live key is never put in a page. If the developer revokes
the docs key, the next docs visit makes a fresh one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from django.db import transaction

from accounts.models import Organization
from keys.models import ApiKey, KeyMode
from keys.services import api_key_create
from public.models import DocsKey

log = logging.getLogger(__name__)

DOCS_KEY_NAME = "Docs test key"


@dataclass(frozen=True)
class DocsCredential:
    key: str
    api_key_id: int
    name: str = DOCS_KEY_NAME

    @property
    def masked(self) -> str:
        return self.key[:12] + "…" + self.key[-4:]


def _key_usable(*, api_key_id: int, org: Organization) -> bool:
    key = ApiKey.objects.filter(pk=api_key_id, organization=org, mode=KeyMode.TEST).first()
    # "rotating" still works, but the docs would rather start on the successor: make a new one.
    return key is not None and key.status == "active"


def docs_credential(*, user, org) -> DocsCredential | None:
    """The developer's docs test key for ``org``; created on first use. None for anonymous
    visitors and members without an organization."""
    if user is None or not user.is_authenticated or org is None:
        return None
    existing = DocsKey.objects.filter(user=user, organization=org).first()
    if existing is not None:
        try:
            if _key_usable(api_key_id=existing.api_key_id, org=org):
                return DocsCredential(key=existing.secret, api_key_id=existing.api_key_id)
        except (InvalidTag, ValueError):  # sealed by a key that is no longer configured: make a new one
            log.warning("docs key %s unusable; creating a new one", existing.pk, exc_info=True)
    with transaction.atomic():
        api_key, secret = api_key_create(org=org, name=DOCS_KEY_NAME, mode=KeyMode.TEST, user=user)
        DocsKey.objects.update_or_create(
            user=user,
            organization=org,
            defaults={"api_key_id": api_key.pk, "secret": secret},
        )
    return DocsCredential(key=secret, api_key_id=api_key.pk)
