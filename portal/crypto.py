"""Secrets at rest: AES-256-GCM, one stored format, associated data, and key rotation.

Stored form: ``v2:<key id>:`` + urlsafe-base64(12-byte nonce || ciphertext+tag).

* A fresh random nonce per encryption.
* The associated data is the value's *purpose* (e.g. ``webhook-endpoint-secret``): a
  ciphertext copied into another column or another kind of record does not decrypt there.
* ``<key id>`` is the first 8 hex digits of SHA-256 of the key, so a value names the key that
  sealed it. ``settings.FIELD_ENCRYPTION_KEY`` seals; it and every key in
  ``settings.FIELD_ENCRYPTION_OLD_KEYS`` open. To rotate: put the new key first, move the old
  one to ``FIELD_ENCRYPTION_OLD_KEYS``, run ``manage.py encryption_rotate``, then drop it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.db import models

VERSION = "v2"


def key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:8]


def _keys() -> dict[str, bytes]:
    keys = [settings.FIELD_ENCRYPTION_KEY, *settings.FIELD_ENCRYPTION_OLD_KEYS]
    return {key_id(k): k for k in keys}


def encrypt_bytes(plaintext: bytes, *, purpose: str) -> str:
    key = settings.FIELD_ENCRYPTION_KEY
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, plaintext, purpose.encode())
    return f"{VERSION}:{key_id(key)}:" + base64.urlsafe_b64encode(nonce + sealed).decode()


def decrypt_bytes(stored: str, *, purpose: str) -> bytes:
    """Raises ``ValueError`` for a value in no known format or sealed by an unknown key, and
    ``cryptography.exceptions.InvalidTag`` when it was tampered with or has another purpose."""
    version, _, rest = stored.partition(":")
    kid, _, blob = rest.partition(":")
    if version != VERSION or not blob:
        raise ValueError("not an encrypted value")
    key = _keys().get(kid)
    if key is None:
        raise ValueError(f"sealed by unknown key {kid}; add it to FIELD_ENCRYPTION_OLD_KEYS")
    raw = base64.urlsafe_b64decode(blob)
    return AESGCM(key).decrypt(raw[:12], raw[12:], purpose.encode())


def encrypt_text(plaintext: str, *, purpose: str) -> str:
    return encrypt_bytes(plaintext.encode(), purpose=purpose)


def decrypt_text(stored: str, *, purpose: str) -> str:
    return decrypt_bytes(stored, purpose=purpose).decode()


def sealed_by_current_key(stored: str) -> bool:
    return stored.startswith(f"{VERSION}:{key_id(settings.FIELD_ENCRYPTION_KEY)}:")


def secret_digest(raw: str) -> str:
    """HMAC-SHA256(``API_KEY_PEPPER``, secret), hex: what is stored of a bearer secret (API keys,
    personal access tokens) instead of the secret itself. Without the pepper, a leaked table
    cannot even be brute-forced offline."""
    return hmac.new(settings.API_KEY_PEPPER.encode(), raw.encode(), hashlib.sha256).hexdigest()


if TYPE_CHECKING:
    from django.db.models.expressions import Combinable

    # django-stubs make fields generic over (set type, get type); Django's class is not
    # subscriptable at run time, so only the type checker sees the parameters.
    _TextField = models.TextField[str | Combinable, str]
else:
    _TextField = models.TextField


class EncryptedTextField(_TextField):
    """A text field encrypted on the way to the database and decrypted on the way back.

    ``purpose`` is bound into every ciphertext as associated data; it must never change for a
    column that holds data (a rename of the model or app does not change it).
    """

    def __init__(self, *args: Any, purpose: str, **kwargs: Any) -> None:
        self.purpose = purpose
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> tuple[Any, ...]:
        name, path, args, kwargs = super().deconstruct()
        kwargs["purpose"] = self.purpose
        return name, path, args, kwargs

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if value is None or value == "":
            return value
        return decrypt_text(value, purpose=self.purpose)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt_text(value, purpose=self.purpose)
