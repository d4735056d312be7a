"""Real servers for tests: granian serving an ASGI app on a free loopback port.

Never a fixed port: another checkout's suite running at the same time would answer (granian
binds with SO_REUSEPORT, so both servers would share the connections).
"""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def granian_start(
    app: str,
    *,
    port: int | None = None,
    workers: int = 1,
    env: dict[str, str] | None = None,
    health: str = "/healthz",
    timeout: float = 30,
    **popen,
) -> tuple[subprocess.Popen, int]:
    """Start granian (ASGI, no lifespan) serving ``app``; return once ``health`` answers 200."""
    port = port or free_port()
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "granian"),
            "--interface",
            "asginl",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            app,
        ],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        **popen,
    )
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"granian serving {app} exited with code {proc.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", health)
            if conn.getresponse().status == 200:
                return proc, port
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"granian serving {app} did not answer {health} within {timeout} s")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def portal_start(*, workers: int = 1, env: dict[str, str] | None = None, **popen) -> tuple[subprocess.Popen, int]:
    """The portal served by granian on this test session's database and Redis (call it from a
    test with committed data: ``transactional_db``), with the identity secret the tests' upstreams
    verify."""
    from django.conf import settings
    from django.db import connection

    db = connection.settings_dict
    return granian_start(
        "portal.asgi:application",
        env={
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
            "REDIS_URL": settings.REDIS_URL,
            "GATEWAY_IDENTITY_SECRET": settings.GATEWAY_IDENTITY_SECRET,
            **(env or {}),
        },
        workers=workers,
        **popen,
    )
