"""Real Redis trouble for in-process tests, without touching the shared Redis server.

* ``closed_port()``: a loopback port nobody listens on — connections are refused at once,
  as when Redis is stopped.
* ``blackhole()``: a loopback listener that never answers — the kernel completes the TCP
  handshake but no reply ever comes, as when Redis is paused (SIGSTOP) or a network drops.
* ``redis_at(settings, url)``: point Django's cache and the shared client (``portal.redis``)
  at ``url`` for a block, then back.

The fault suite (tests/faults/) stops and restarts a real redis-server; these helpers are
for the fast, in-process tests of the same behaviour.
"""

from __future__ import annotations

import copy
import socket
from collections.abc import Iterator
from contextlib import contextmanager

import portal.redis


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def blackhole() -> Iterator[int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(512)  # never accept(): connects succeed, reads wait forever
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


@contextmanager
def redis_at(settings, url: str) -> Iterator[None]:
    caches = copy.deepcopy(settings.CACHES)
    caches["default"]["LOCATION"] = url
    original = settings.CACHES
    portal.redis._client = None
    settings.CACHES = caches  # Django's setting_changed handler resets the cache connections
    try:
        yield
    finally:
        settings.CACHES = original
        portal.redis._client = None
