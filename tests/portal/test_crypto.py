"""Secrets at rest: one AES-256-GCM format with a purpose bound in, and key rotation."""

from __future__ import annotations

import base64
import os

import pytest
from cryptography.exceptions import InvalidTag
from django.core.management import call_command
from django.db import connection

from billing.models import BillingProfile
from portal.crypto import decrypt_text, encrypt_text, key_id, sealed_by_current_key


def _stored_authorization(profile: BillingProfile) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT paystack_authorization_code FROM billing_billingprofile WHERE id = %s", [profile.pk])
        return cursor.fetchone()[0]


def test_values_round_trip_with_a_fresh_nonce_and_name_their_key(settings):
    sealed = encrypt_text("hello", purpose="test")
    assert sealed != encrypt_text("hello", purpose="test")
    assert sealed.startswith(f"v2:{key_id(settings.FIELD_ENCRYPTION_KEY)}:")
    assert decrypt_text(sealed, purpose="test") == "hello"


def test_tampered_value_or_another_purpose_does_not_decrypt():
    sealed = encrypt_text("hello", purpose="webhook-endpoint-secret")
    tampered = sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB")
    with pytest.raises((InvalidTag, ValueError)):
        decrypt_text(tampered, purpose="webhook-endpoint-secret")
    with pytest.raises(InvalidTag):  # copied into another column: refused
        decrypt_text(sealed, purpose="docs-try-it-key")


def test_unknown_key_and_unknown_format_are_refused_with_a_clear_error():
    with pytest.raises(ValueError, match="not an encrypted value"):
        decrypt_text("plain text", purpose="test")
    with pytest.raises(ValueError, match="unknown key deadbeef"):
        decrypt_text("v2:deadbeef:AAAA", purpose="test")


@pytest.mark.django_db
def test_rotation_old_key_still_opens_and_the_command_reseals_under_the_new_one(settings, org):
    profile = BillingProfile.objects.create(organization=org, paystack_authorization_code="AUTH_secret")
    old_key, new_key = settings.FIELD_ENCRYPTION_KEY, os.urandom(32)
    assert "AUTH_secret" not in _stored_authorization(profile)

    settings.FIELD_ENCRYPTION_KEY, settings.FIELD_ENCRYPTION_OLD_KEYS = new_key, [old_key]
    assert BillingProfile.objects.get(pk=profile.pk).paystack_authorization_code == "AUTH_secret"
    assert not sealed_by_current_key(_stored_authorization(profile))

    call_command("encryption_rotate", stdout=open(os.devnull, "w"))
    assert sealed_by_current_key(_stored_authorization(profile))
    settings.FIELD_ENCRYPTION_OLD_KEYS = []  # the old key can go now
    assert BillingProfile.objects.get(pk=profile.pk).paystack_authorization_code == "AUTH_secret"


def test_old_keys_setting_must_be_base64_keys_of_32_bytes(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    from portal.env import env_bytes_b64_list

    monkeypatch.setenv("FIELD_ENCRYPTION_OLD_KEYS", base64.b64encode(os.urandom(32)).decode() + ",bm90LWEta2V5")
    with pytest.raises(ImproperlyConfigured, match="FIELD_ENCRYPTION_OLD_KEYS must decode to 32 bytes"):
        env_bytes_b64_list("FIELD_ENCRYPTION_OLD_KEYS", length=32)


@pytest.mark.django_db
def test_values_in_the_first_format_are_resealed_by_the_migration(org, monkeypatch):
    import importlib
    from types import SimpleNamespace

    migration = importlib.import_module("billing.migrations.0003_secrets_v2_format")
    # The endpoint secrets' table was renamed (webhooks 0001) after this migration ran: run it
    # here over the column that is still where it was, the one this test seals.
    monkeypatch.setattr(migration, "COLUMNS", [c for c in migration.COLUMNS if c[0] == "billing_billingprofile"])
    profile = BillingProfile.objects.create(organization=org)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE billing_billingprofile SET paystack_authorization_code = %s WHERE id = %s",
            [migration._v1_encrypt("AUTH_old"), profile.pk],
        )
    migration.forwards(None, SimpleNamespace(connection=connection))
    assert _stored_authorization(profile).startswith("v2:")
    assert BillingProfile.objects.get(pk=profile.pk).paystack_authorization_code == "AUTH_old"
    migration.backwards(None, SimpleNamespace(connection=connection))
    assert _stored_authorization(profile).startswith("v1:")
