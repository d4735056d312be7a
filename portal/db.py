"""Database aliases: reads that tolerate replication lag (dashboards, the usage API) go to the
read replica when ``DATABASE_REPLICA_URL`` configures one, and to the primary otherwise."""

from __future__ import annotations

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS

REPLICA = "replica"


def read_alias() -> str:
    """The alias for lag-tolerant reads: ``replica`` when configured, else ``default``."""
    return REPLICA if REPLICA in settings.DATABASES else DEFAULT_DB_ALIAS
