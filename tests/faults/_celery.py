"""Real Celery worker processes for fault tests: start them against the test database, wait
until they are ready, find the one holding a given connection, kill it like a lost machine
(SIGKILL to its whole process group), stop the rest. Linux only (reads /proc)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from django.conf import settings
from django.db import connection

from portal.celery import QUEUES

ROOT = Path(__file__).resolve().parents[2]


class CeleryWorker:
    """``celery -A portal worker`` in its own process group; its output is collected by a
    thread (so the pipe never fills) and kept for failure messages."""

    def __init__(self, name: str, *, concurrency: int = 2, env: dict[str, str] | None = None):
        db = connection.settings_dict  # the test database, once pytest-django has set it up
        full_env = {
            **os.environ,
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
            "REDIS_URL": settings.REDIS_URL,
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "CELERY_RESULT_BACKEND": settings.CELERY_RESULT_BACKEND,
            "TESTING": "1",
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        self.lines: list[str] = []
        self.ready = threading.Event()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "portal",
                "worker",
                "-Q",
                ",".join(QUEUES),
                "--loglevel=INFO",
                "-n",
                f"{name}@%h",
                f"--concurrency={concurrency}",
                "--pool=prefork",
                "--without-mingle",
                "--without-gossip",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=full_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        threading.Thread(target=self._collect, daemon=True).start()

    def _collect(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)
            if " ready." in line:
                self.ready.set()

    def wait_ready(self, timeout: float) -> None:
        if not self.ready.wait(timeout):
            self.stop()
            raise AssertionError(f"celery worker not ready within {timeout:.0f} s:\n{''.join(self.lines[-40:])}")

    def holds_socket(self, inode: int) -> bool:
        """Whether any process of this worker (the main one or a pool process) has the socket."""
        target = f"socket:[{inode}]"
        for pid in _process_group(self.proc.pid):
            try:
                fds = list(Path(f"/proc/{pid}/fd").iterdir())
            except OSError:
                continue  # gone meanwhile
            for fd in fds:
                try:
                    if os.readlink(fd) == target:
                        return True
                except OSError:
                    continue
        return False

    def kill(self) -> None:
        """SIGKILL the worker and its pool processes at once: nothing gets to clean up."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)


def _process_group(pgid: int) -> list[int]:
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # after "pid (comm)": state, ppid, pgrp
            pids.append(int(stat.parent.name))
    return pids


def tcp_socket_inode(*, local_port: int, remote_port: int) -> int:
    """The inode of the IPv4 TCP socket with these ports (Linux /proc/net/tcp), to find
    which process holds one end of a loopback connection."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = fields[1], fields[2]
        if int(local.split(":")[1], 16) == local_port and int(remote.split(":")[1], 16) == remote_port:
            return int(fields[9])
    raise AssertionError(f"no TCP socket {local_port} → {remote_port}")


def time_left(deadline: float) -> float:
    """Seconds until ``deadline`` (time.monotonic()), failing the test once it has passed."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise AssertionError("fault test ran out of its time budget")
    return left
