"""The docs' test key secret moves from raw AES-GCM bytes to the one at-rest text format
(``portal/crypto.py``: ``v2:<key id>:…`` with the column's purpose as associated data)."""

import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.db import migrations, models

import portal.crypto
from portal.crypto import decrypt_text, encrypt_text

PURPOSE = "docs-try-it-key"
OLD_AAD = b"tollgate-docs-key-v1"


def forwards(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT id, secret_encrypted FROM portal_docskey")
        for row_id, blob in cursor.fetchall():
            blob = bytes(blob)
            secret = AESGCM(settings.FIELD_ENCRYPTION_KEY).decrypt(blob[:12], blob[12:], OLD_AAD).decode()
            cursor.execute("UPDATE portal_docskey SET secret = %s WHERE id = %s", [encrypt_text(secret, purpose=PURPOSE), row_id])


def backwards(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT id, secret FROM portal_docskey")
        for row_id, stored in cursor.fetchall():
            nonce = os.urandom(12)
            sealed = AESGCM(settings.FIELD_ENCRYPTION_KEY).encrypt(nonce, decrypt_text(stored, purpose=PURPOSE).encode(), OLD_AAD)
            cursor.execute("UPDATE portal_docskey SET secret_encrypted = %s WHERE id = %s", [nonce + sealed, row_id])


class Migration(migrations.Migration):
    dependencies = [("portal", "0001_initial")]

    operations = [
        migrations.AddField("docskey", "secret", portal.crypto.EncryptedTextField(default="", purpose=PURPOSE), preserve_default=False),
        migrations.AlterField("docskey", "secret_encrypted", models.BinaryField(null=True)),
        migrations.RunPython(forwards, backwards),
        migrations.RemoveField("docskey", "secret_encrypted"),
    ]
