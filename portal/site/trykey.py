"""The test key behind the docs' "Try it" and the signed-in code samples.

Keys are stored as digests, so the docs cannot show a key the developer made. The docs make
their own **test** key per (developer, organization) — named "Docs test key" so it is
recognisable (and revocable) on the keys page — and keep its secret encrypted (AES-256-GCM
with ``FIELD_ENCRYPTION_KEY``). A live key is never put in a page. If the developer revokes
the docs key, the next docs visit makes a fresh one.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.db import transaction

from portal.models import DocsKey

log = logging.getLogger(__name__)

DOCS_KEY_NAME = "Docs test key"
_AAD = b"tollgate-docs-key-v1"


@dataclass(frozen=True)
class DocsCredential:
    key: str
    api_key_id: int
    name: str = DOCS_KEY_NAME

    @property
    def masked(self) -> str:
        return self.key[:12] + "…" + self.key[-4:]


def _encrypt(secret: str) -> bytes:
    nonce = os.urandom(12)
    return nonce + AESGCM(settings.FIELD_ENCRYPTION_KEY).encrypt(nonce, secret.encode(), _AAD)


def _decrypt(blob: bytes) -> str:
    blob = bytes(blob)
    return AESGCM(settings.FIELD_ENCRYPTION_KEY).decrypt(blob[:12], blob[12:], _AAD).decode()


# --- The keys area's contract (issue 3). Isolated here so a change there is a one-place fix. --


def _key_create(*, org, user) -> tuple[int, str]:
    from keys.services import api_key_create

    api_key, secret = api_key_create(org=org, name=DOCS_KEY_NAME, mode="test", user=user)
    return api_key.pk, secret


def _key_usable(*, api_key_id: int, org) -> bool:
    from keys.models import ApiKey

    key = ApiKey.objects.filter(pk=api_key_id, organization=org, mode="test").first()
    # "rotating" still works, but the docs would rather start on the successor: make a new one.
    return key is not None and key.status == "active"


def keys_available() -> bool:
    try:
        import keys.services  # noqa: F401
    except ImportError:
        return False
    return hasattr(keys.services, "api_key_create")


def docs_credential(*, user, org) -> DocsCredential | None:
    """The developer's docs test key for ``org``; created on first use. None when the keys
    area is not installed or the member may not create keys."""
    if user is None or not user.is_authenticated or org is None or not keys_available():
        return None
    existing = DocsKey.objects.filter(user=user, organization=org).first()
    if existing is not None:
        try:
            if _key_usable(api_key_id=existing.api_key_id, org=org):
                return DocsCredential(key=_decrypt(existing.secret_encrypted), api_key_id=existing.api_key_id)
        except Exception:  # wrong FIELD_ENCRYPTION_KEY after a rotation: make a new key
            log.warning("docs key %s unusable; creating a new one", existing.pk, exc_info=True)
    with transaction.atomic():
        api_key_id, secret = _key_create(org=org, user=user)
        DocsKey.objects.update_or_create(
            user=user,
            organization=org,
            defaults={"api_key_id": api_key_id, "secret_encrypted": _encrypt(secret)},
        )
    return DocsCredential(key=secret, api_key_id=api_key_id)
