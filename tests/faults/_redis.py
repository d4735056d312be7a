"""A throwaway redis-server (Debian's /usr/bin/redis-server) that a fault test may pause, kill
and restart without touching the shared Redis; and the app server (granian) in front of it."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import redis

from tests.servers import free_port, granian_start

REDIS_SERVER = "/usr/bin/redis-server"
ROOT = Path(__file__).resolve().parents[2]


class RedisServer:
    """``appendfsync always``: what a client was told is written survives a SIGKILL (the
    production requirement documented in docs/keys-and-limits.md, there with ``everysec``)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10) -> None:
        self.proc = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.directory),
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
                "--protected-mode",
                "no",
                "--loglevel",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        client = redis.Redis(port=self.port, socket_timeout=0.5, socket_connect_timeout=0.5)
        while time.monotonic() < deadline:
            try:
                if client.ping():
                    return
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def pause(self) -> None:
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.proc.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGCONT)  # in case it is paused: a stopped process dies on CONT
        self.proc.kill()
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.kill()

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=5, socket_connect_timeout=2)


def start_app_server(
    *,
    database_url: str,
    redis_url: str,
    log: Path,
    workers: int = 2,
    timeout: float = 40,
    extra_env: dict[str, str] | None = None,
) -> tuple[subprocess.Popen, int]:
    """granian (ASGI) as production runs it, on a free port; returns (process, port). Its
    output goes to ``log`` (a pipe nobody reads would block the workers once full)."""
    env = {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "CELERY_RESULT_BACKEND": redis_url,
        **(extra_env or {}),
    }
    return granian_start(
        "portal.asgi:application",
        env=env,
        workers=workers,
        timeout=timeout,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def stop_app_server(proc: subprocess.Popen, timeout: float = 20) -> None:
    """SIGTERM: workers exit gracefully and flush their usage buffers (``atexit``). Returns once
    the workers too are gone, so whatever they flushed at exit is in Redis."""
    workers = _children(proc.pid)
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)
    deadline = time.monotonic() + timeout
    while any(Path(f"/proc/{pid}").exists() for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
