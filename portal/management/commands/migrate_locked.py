"""``manage.py migrate_locked``: ``migrate --noinput`` serialized by a PostgreSQL advisory lock.

Django's ``migrate`` takes no lock of its own: two web replicas starting together (a rolling
deploy, ``docker compose up --scale web=2``) would apply the same migration twice and one would
fail half-way. The deploy entrypoint runs this instead. The lock is held on a connection of its
own, so whatever ``migrate`` does with the default connection cannot release it early; the one
that waited finds nothing left to apply. A process that dies holding the lock releases it with
its session.
"""

from __future__ import annotations

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import DEFAULT_DB_ALIAS, connections

# One fixed key for the whole database ("toll" in ASCII): every Tollgate process agrees on it.
MIGRATE_LOCK_KEY = 0x746F6C6C


class Command(BaseCommand):
    help = "Apply migrations, one process at a time (PostgreSQL advisory lock)."

    def handle(self, *args, **options):
        lock = connections.create_connection(DEFAULT_DB_ALIAS)
        try:
            with lock.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_lock(%s)", [MIGRATE_LOCK_KEY])
                if not cursor.fetchone()[0]:
                    self.stdout.write("migrate_locked: another process is migrating; waiting for it")
                    self.stdout.flush()
                    cursor.execute("SELECT pg_advisory_lock(%s)", [MIGRATE_LOCK_KEY])
            call_command("migrate", interactive=False, verbosity=options["verbosity"], stdout=self.stdout)
        finally:
            lock.close()  # ends the session: the lock goes with it
