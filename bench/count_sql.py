"""ASGI app for benchmarks: the portal's own application plus a SQL query counter.

Every query any worker runs increments the Redis key ``bench:sql_queries`` — so the bench
can report SQL queries per request on the hot path (expected: 0). With no queries, the hook
costs nothing.
"""

from __future__ import annotations

from django.db.backends.utils import CursorWrapper

from portal.asgi import application  # noqa: F401  (the app under test, unchanged)

_execute, _executemany = CursorWrapper.execute, CursorWrapper.executemany


def _count():
    from portal.redis import redis_client

    redis_client().incr("bench:sql_queries")


def execute(self, *args, **kwargs):
    _count()
    return _execute(self, *args, **kwargs)


def executemany(self, *args, **kwargs):
    _count()
    return _executemany(self, *args, **kwargs)


CursorWrapper.execute, CursorWrapper.executemany = execute, executemany
