"""The process's Redis connection: one factory, so every caller shares one pool.

The hot path (limiter, key cache, recorder), the usage consumer, health checks and the
status probes all talk to the Redis behind Django's ``default`` cache, through django-redis'
thread-safe connection pool with the hiredis parser.

Every command is bounded in time (``REDIS_SOCKET_CONNECT_TIMEOUT``, ``REDIS_SOCKET_TIMEOUT``
in the cache OPTIONS) and a failed connection is dropped from the pool, so when Redis comes
back the next command simply reconnects: no restart needed. While Redis is unreachable the
errors below reach ``portal.middleware.ApiErrorMiddleware``, which answers API calls with
``503`` problem+json and ``Retry-After``.
"""

from __future__ import annotations

from typing import Any

from django_redis import get_redis_connection
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

# Redis unreachable, too slow or still loading its data after a restart: raised by the client
# directly (ConnectionError and its BusyLoadingError, TimeoutError) or wrapped by Django's
# cache API (ConnectionInterrupted).
REDIS_UNAVAILABLE: tuple[type[Exception], ...] = (RedisConnectionError, RedisTimeoutError, ConnectionInterrupted)

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


def redis_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` (or what it wraps) means Redis could not be reached in time."""
    for _ in range(5):  # follow explicit wrapping (``raise … from``) a few levels, no further
        if isinstance(exc, REDIS_UNAVAILABLE):
            return True
        exc = exc.__cause__
        if exc is None:
            return False
    return False
