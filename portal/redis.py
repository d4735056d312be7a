"""The process's Redis connection: one factory, so every caller shares one pool.

The hot path (limiter, key cache, recorder), the usage consumer, health checks and the
status probes all talk to the Redis behind Django's ``default`` cache, through django-redis'
thread-safe connection pool with the hiredis parser.
"""

from __future__ import annotations

from typing import Any

from django_redis import get_redis_connection

_client: Any = None


def redis_client() -> Any:
    """The shared ``redis.Redis`` client (created on first use, then reused)."""
    global _client
    if _client is None:
        _client = get_redis_connection("default")
    return _client


def org_tag(org_id: int) -> str:
    """The Redis Cluster hash tag of an organization: every key of one organization carries it,
    so the admission script touches a single slot."""
    return f"{{org:{org_id}}}"
