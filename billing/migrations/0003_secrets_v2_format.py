"""Re-seal secrets stored in the first at-rest format (``v1:``, no associated data) in the
current one (``v2:<key id>:``, the column's purpose as associated data); see portal/crypto.py."""

import base64
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.db import migrations

from portal.crypto import decrypt_text, encrypt_text

COLUMNS = [
    ("billing_billingprofile", "paystack_authorization_code", "billing-profile-paystack-authorization"),
    ("billing_webhookendpoint", "secret", "webhook-endpoint-secret"),
]


def _v1_decrypt(stored: str) -> str:
    raw = base64.urlsafe_b64decode(stored[len("v1:"):])
    return AESGCM(settings.FIELD_ENCRYPTION_KEY).decrypt(raw[:12], raw[12:], None).decode()


def _v1_encrypt(plaintext: str) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(settings.FIELD_ENCRYPTION_KEY).encrypt(nonce, plaintext.encode(), None)
    return "v1:" + base64.urlsafe_b64encode(nonce + sealed).decode()


def _reseal(schema_editor, prefix: str, convert) -> None:
    with schema_editor.connection.cursor() as cursor:
        for table, column, purpose in COLUMNS:
            cursor.execute(f"SELECT id, {column} FROM {table} WHERE {column} LIKE %s", [prefix + "%"])
            for row_id, stored in cursor.fetchall():
                cursor.execute(f"UPDATE {table} SET {column} = %s WHERE id = %s", [convert(stored, purpose), row_id])


def forwards(apps, schema_editor):
    _reseal(schema_editor, "v1:", lambda stored, purpose: encrypt_text(_v1_decrypt(stored), purpose=purpose))


def backwards(apps, schema_editor):
    _reseal(schema_editor, "v2:", lambda stored, purpose: _v1_encrypt(decrypt_text(stored, purpose=purpose)))


class Migration(migrations.Migration):
    dependencies = [("billing", "0002_invoice_per_payment")]

    operations = [migrations.RunPython(forwards, backwards)]
