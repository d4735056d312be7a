"""Shared set-up for the usage benchmarks: a separate database so generated data never
bloats the development or test databases.

``USAGE_BENCH_DATABASE_URL`` (default: ``DATABASE_URL`` with ``_bench`` appended to the
database name; the ingest benchmark, which truncates, uses ``_bench_ingest``) is created if
missing and migrated.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def setup(suffix: str = "_bench") -> str:
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tollgate")
    url = os.environ.get("USAGE_BENCH_DATABASE_URL") if suffix == "_bench" else None
    if not url:
        parts = urlsplit(base)
        url = urlunsplit(parts._replace(path=parts.path.rstrip("/") + suffix))
    name = urlsplit(url).path.lstrip("/")
    import psycopg

    admin = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    return url
