"""Repeated authentication failures per client address: a shared Redis counter, a local memo.

Guessing keys must cost the guesser, not PostgreSQL: every made-up key, malformed credential
or invalid token from one address counts in ``tg:authfail:<address>`` — a fixed window of
``GATEWAY_AUTH_FAILURES_WINDOW`` seconds shared by every process (one Redis round trip per
failure, none on success). Past ``GATEWAY_AUTH_FAILURES_MAX`` failures the address is answered
``429 auth-failures`` with ``Retry-After`` until the window ends, before any lookup: each
process remembers the block, so a flood from a blocked address costs no I/O at all. A key the
process already holds in memory is still served from that address — the block slows guessing
down, it does not lock out a customer who shares an address with a guesser.

The client address is ``REMOTE_ADDR``, or with ``GATEWAY_TRUSTED_PROXIES`` = N the N-th
address from the right of ``X-Forwarded-For`` (each trusted proxy appends the address it saw).
"""

from __future__ import annotations

import math
import time

from django.conf import settings
from django.http import HttpRequest

from portal.redis import redis_client

FAILURE_SCRIPT = """
local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {n, ttl}
"""
_BLOCKED_MAX = 100_000

_blocked: dict[str, float] = {}  # address -> time.monotonic() when its block ends
_script = None


def failures_key(address: str) -> str:
    return f"tg:authfail:{address}"


def client_address(request: HttpRequest) -> str:
    proxies = settings.GATEWAY_TRUSTED_PROXIES
    if proxies > 0:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        if len(hops) >= proxies:
            return hops[-proxies]
    return request.META.get("REMOTE_ADDR", "")


def blocked_for(address: str) -> int:
    """Seconds ``address`` is still refused, as this process knows it (no I/O); 0 if not."""
    if not _blocked:
        return 0
    until = _blocked.get(address)
    if until is None:
        return 0
    left = until - time.monotonic()
    if left <= 0:
        _blocked.pop(address, None)
        return 0
    return max(math.ceil(left), 1)


def failure_note(address: str) -> int:
    """Count one failed authentication from ``address``; the seconds it must now wait if this
    failure went over the limit, else 0."""
    limit = settings.GATEWAY_AUTH_FAILURES_MAX
    if not address or limit <= 0:
        return 0
    global _script
    if _script is None:
        _script = redis_client().register_script(FAILURE_SCRIPT)  # EVALSHA, reloaded on NOSCRIPT
    count, ttl = _script(
        keys=[failures_key(address)], args=[settings.GATEWAY_AUTH_FAILURES_WINDOW], client=redis_client()
    )
    if int(count) <= limit:
        return 0
    wait = max(int(ttl), 1)
    if len(_blocked) >= _BLOCKED_MAX:
        _blocked.clear()
    _blocked[address] = time.monotonic() + wait
    return wait


def blocks_clear() -> None:
    """Forget this process's memo of blocked addresses (tests)."""
    _blocked.clear()
