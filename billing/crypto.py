"""Secrets at rest: AES-256-GCM with ``settings.FIELD_ENCRYPTION_KEY``.

Stored form: ``v1:`` + urlsafe-base64(12-byte nonce || ciphertext+tag). A fresh random nonce
per encryption; the version prefix leaves room for key rotation.
"""

from __future__ import annotations

import base64
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.db import models

PREFIX = "v1:"


def encrypt_text(plaintext: str) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(settings.FIELD_ENCRYPTION_KEY).encrypt(nonce, plaintext.encode(), None)
    return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()


def decrypt_text(stored: str) -> str:
    """Raises ``cryptography.exceptions.InvalidTag`` when the value was tampered with."""
    if not stored.startswith(PREFIX):
        raise ValueError("not an encrypted value")
    raw = base64.urlsafe_b64decode(stored[len(PREFIX):])
    return AESGCM(settings.FIELD_ENCRYPTION_KEY).decrypt(raw[:12], raw[12:], None).decode()


class EncryptedTextField(models.TextField):
    """A text field encrypted on the way to the database and decrypted on the way back."""

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return decrypt_text(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt_text(value)
