"""Fault injection for the sandbox transports: make a provider endpoint time out or fail,
before or after the request takes effect, the way real networks and providers do.

A fault names a provider, an HTTP method, a path (a regular expression matched against the
whole URL path) and what happens, ``times`` times:

* ``connect_timeout`` — the request never reaches the provider (connect timeout);
* ``timeout_before`` — the request is lost before the provider applies it, the client waits
  in vain (read timeout: the client cannot tell it from ``timeout_after``);
* ``timeout_after`` — the provider applies the request, then the answer is lost (read timeout);
* ``503_before`` — the provider answers 503 without applying it;
* ``503_after`` — the provider applies it, then a proxy answers 503.

Faults live in Redis, not in the database: the sandbox's own writes happen in the caller's
transaction, and a fault that fired must stay spent when that transaction rolls back. Every
sandbox request is counted (``sandbox_counters``), so a test can report requests and faults.
"""

from __future__ import annotations

import json
import re
import secrets

from portal.redis import redis_client

FAULT_KINDS = ("connect_timeout", "timeout_before", "timeout_after", "503_before", "503_after")
_INDEX = "sandbox:faults"
_FAULT = "sandbox:fault:"
_COUNTERS = "sandbox:counters"


def fault_inject(provider: str, method: str, path: str, fault: str, *, times: int = 1, skip: int = 0) -> str:
    """Arm a fault for ``times`` matching requests after letting ``skip`` of them through;
    returns its id."""
    if fault not in FAULT_KINDS:
        raise ValueError(f"unknown fault {fault!r}; one of {', '.join(FAULT_KINDS)}")
    re.compile(path)
    fault_id = secrets.token_hex(6)
    redis = redis_client()
    redis.hset(
        f"{_FAULT}{fault_id}",
        mapping={
            "spec": json.dumps({"provider": provider, "method": method.upper(), "path": path, "fault": fault}),
            "remaining": times,
            "skip": skip,
        },
    )
    redis.rpush(_INDEX, fault_id)
    return fault_id


def faults_clear() -> None:
    redis = redis_client()
    for fault_id in redis.lrange(_INDEX, 0, -1):
        redis.delete(f"{_FAULT}{fault_id.decode()}")
    redis.delete(_INDEX, _COUNTERS)


def fault_take(provider: str, method: str, path: str) -> str | None:
    """Count the request; the fault to apply to it, if one is armed (and spend one use)."""
    redis = redis_client()
    redis.hincrby(_COUNTERS, f"{provider}:requests", 1)
    for raw_id in redis.lrange(_INDEX, 0, -1):
        key = f"{_FAULT}{raw_id.decode()}"
        spec = redis.hget(key, "spec")
        if spec is None:
            continue
        fault = json.loads(spec)
        if fault["provider"] != provider or fault["method"] != method.upper() or not re.fullmatch(fault["path"], path):
            continue
        if redis.hincrby(key, "skip", -1) >= 0 or redis.hincrby(key, "remaining", -1) < 0:
            continue
        redis.hincrby(_COUNTERS, f"{provider}:faults", 1)
        redis.hincrby(_COUNTERS, f"{provider}:{fault['fault']}", 1)
        return fault["fault"]
    return None


def sandbox_counters() -> dict[str, int]:
    """``<provider>:requests``, ``<provider>:faults`` and ``<provider>:<fault kind>`` so far."""
    return {k.decode(): int(v) for k, v in redis_client().hgetall(_COUNTERS).items()}
