"""Re-seal every encrypted column under the current ``FIELD_ENCRYPTION_KEY``.

Run after putting a new key in ``FIELD_ENCRYPTION_KEY`` and the previous one in
``FIELD_ENCRYPTION_OLD_KEYS``; once it reports nothing left, the old key can be removed.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import connection, transaction

from portal.crypto import EncryptedTextField, decrypt_text, encrypt_text, sealed_by_current_key


class Command(BaseCommand):
    help = "Re-encrypt secrets at rest with the current FIELD_ENCRYPTION_KEY."

    def handle(self, *args: Any, **options: Any) -> None:
        total = 0
        for model in apps.get_models():
            pk_column = model._meta.pk.column
            for field in model._meta.concrete_fields:
                # A concrete field is one with a column; the stubs type every column as optional.
                if isinstance(field, EncryptedTextField) and field.column and pk_column:
                    total += self._reseal(model._meta.db_table, pk_column, field.column, field.purpose)
        self.stdout.write(f"re-sealed {total} value(s) under the current key")

    def _reseal(self, table: str, pk: str, column: str, purpose: str) -> int:
        count = 0
        with transaction.atomic(), connection.cursor() as cursor:
            quote = connection.ops.quote_name
            cursor.execute(
                f"SELECT {quote(pk)}, {quote(column)} FROM {quote(table)} WHERE {quote(column)} <> '' FOR UPDATE"
            )
            for row_id, stored in cursor.fetchall():
                if sealed_by_current_key(stored):
                    continue
                value = encrypt_text(decrypt_text(stored, purpose=purpose), purpose=purpose)
                cursor.execute(
                    f"UPDATE {quote(table)} SET {quote(column)} = %s WHERE {quote(pk)} = %s", [value, row_id]
                )
                count += 1
        return count
