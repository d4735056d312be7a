"""deploy/entrypoint.sh, run for real against the local PostgreSQL and Redis: every process type
the image runs starts, does its job and stops on SIGTERM — and it is the process we started,
not a shell around it (the entrypoint execs), so the container runtime's signal reaches it.

The module migrates a database of its own from empty, as a fresh deployment's first start does.
Linux only (reads /proc)."""

from __future__ import annotations

import contextlib
import http.client
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db.migrations.loader import MigrationLoader

from portal.management.commands.migrate_locked import MIGRATE_LOCK_KEY
from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
ENTRYPOINT = ROOT / "deploy" / "entrypoint.sh"
HEALTHCHECK = ROOT / "deploy" / "healthcheck.py"

pytestmark = pytest.mark.slow


class Started:
    """An entrypoint process whose output (stdout and stderr) a thread collects line by line,
    so the pipe never fills and a test can wait for a line."""

    def __init__(self, args: list[str], env: dict[str, str]):
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self.proc = subprocess.Popen(
            [str(ENTRYPOINT), *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own process group: kill() leaves nothing behind
        )
        threading.Thread(target=self._collect, daemon=True).start()

    def _collect(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)
            self._queue.put(line)
        self._queue.put(None)

    def wait_for(self, needle: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._queue.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                raise AssertionError(f"exited ({self.proc.wait()}) before {needle!r}:\n{self.output}")
            if needle in line:
                return
        raise AssertionError(f"no {needle!r} within {timeout:.0f} s:\n{self.output}")

    @property
    def output(self) -> str:
        return "".join(self.lines[-60:])

    def cmdline(self) -> str:
        return Path(f"/proc/{self.proc.pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()

    def terminate(self, timeout: float = 30) -> int:
        """SIGTERM to the PID we started, as ``docker stop`` sends it; the exit code."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError(f"still running {timeout:.0f} s after SIGTERM:\n{self.output}") from None

    def kill(self) -> None:
        """SIGKILL to the whole process group (pool processes, or the server a shell that did not
        exec left behind)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


def _server_url(dbname: str) -> str:
    db = settings.DATABASES["default"]
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{dbname}"


@pytest.fixture(scope="module")
def database_url():
    """An empty database of this module's own (dropped at the end)."""
    name = f"{settings.DATABASES['default']['NAME']}_entrypoint"
    with psycopg.connect(_server_url("postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    yield _server_url(name)
    with psycopg.connect(_server_url("postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def env(database_url):
    venv_bin = str(Path(sys.executable).parent)
    return {
        **os.environ,
        "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        "DATABASE_URL": database_url,
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CELERY_RESULT_BACKEND": settings.CELERY_RESULT_BACKEND,
        "DEBUG": "1",
        "TESTING": "1",
        "PYTHONUNBUFFERED": "1",
    }


@pytest.fixture(scope="module")
def migrated(env, database_url):
    """``entrypoint.sh migrate`` on the empty database; what it returned."""
    return subprocess.run([str(ENTRYPOINT), "migrate"], env=env, capture_output=True, text=True, timeout=180)


def test_migrate_applies_every_migration_to_an_empty_database_and_exits_0(migrated, database_url):
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    on_disk = set(MigrationLoader(None, ignore_no_migrations=True).graph.nodes)
    with psycopg.connect(database_url) as conn:
        applied = set(conn.execute("SELECT app, name FROM django_migrations").fetchall())
    assert on_disk
    assert on_disk <= applied


def test_migrate_waits_while_another_process_holds_the_migration_lock(migrated, env, database_url):
    with psycopg.connect(database_url, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", [MIGRATE_LOCK_KEY])
        started = Started(["migrate"], env)
        try:
            started.wait_for("another process is migrating")
            time.sleep(1)
            assert started.proc.poll() is None, started.output
            holder.execute("SELECT pg_advisory_unlock(%s)", [MIGRATE_LOCK_KEY])
            assert started.proc.wait(timeout=60) == 0, started.output
        finally:
            started.kill()
    assert "No migrations to apply" in started.output


def _healthz(port: int, host: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", "/healthz", headers={"Host": host})
        return conn.getresponse().status
    finally:
        conn.close()


def _wait_healthy(started: Started, port: int, host: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if started.proc.poll() is not None:
            raise AssertionError(f"web exited with {started.proc.returncode}:\n{started.output}")
        try:
            if _healthz(port, host) == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"/healthz did not answer 200 within {timeout:.0f} s:\n{started.output}")


def test_web_migrates_then_serves_with_granian_and_stops_on_sigterm(migrated, env):
    port = free_port()
    web_env = {
        **env,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_WORKERS": "1",
        "ALLOWED_HOSTS": "portal.example.test",
    }
    started = Started(["web"], web_env)
    try:
        _wait_healthy(started, port, "portal.example.test")
        assert "No migrations to apply" in started.output  # it ran migrate first
        cmdline = started.cmdline()
        assert "granian" in cmdline and "entrypoint.sh" not in cmdline, cmdline
        assert "--interface asginl" in cmdline and f"--port {port}" in cmdline and "--workers 1" in cmdline
        # The image's health check finds the server behind ALLOWED_HOSTS (a bare 127.0.0.1 is refused).
        check = subprocess.run([sys.executable, str(HEALTHCHECK)], env=web_env, capture_output=True, timeout=30)
        assert check.returncode == 0, check.stderr
        assert started.terminate() == 0, started.output
    finally:
        started.kill()
    check = subprocess.run([sys.executable, str(HEALTHCHECK)], env=web_env, capture_output=True, timeout=30)
    assert check.returncode != 0


def test_worker_answers_a_ping_on_the_documented_queues_and_stops_on_sigterm(migrated, env):
    from portal.celery import app

    name = f"deploy-{uuid.uuid4().hex[:8]}@test"
    started = Started(["worker", "--hostname", name], {**env, "WORKER_CONCURRENCY": "1"})
    try:
        deadline = time.monotonic() + 90
        replies: list[dict] = []
        while not replies and time.monotonic() < deadline:
            assert started.proc.poll() is None, started.output
            replies = app.control.ping(destination=[name], timeout=1.0)
        assert replies == [{name: {"ok": "pong"}}], started.output
        active = app.control.inspect(destination=[name], timeout=5).active_queues()
        from portal.celery import QUEUES

        # By default a worker consumes every queue tasks are routed to (portal.celery.QUEUES).
        assert {q["name"] for q in active[name]} == set(QUEUES) == {"usage", "billing", "webhooks", "celery"}
        cmdline = started.cmdline()
        assert "celery" in cmdline and "worker" in cmdline and "entrypoint.sh" not in cmdline, cmdline
        assert started.terminate() == 0, started.output
    finally:
        started.kill()


def test_beat_sends_due_tasks_and_stops_on_sigterm(migrated, env):
    started = Started(["beat"], env)
    try:
        started.wait_for("Sending due task")
        cmdline = started.cmdline()
        assert "celery" in cmdline and "beat" in cmdline and "entrypoint.sh" not in cmdline, cmdline
        assert started.terminate() == 0, started.output
    finally:
        started.kill()


def test_consumer_starts_reading_the_stream_and_stops_on_sigterm(migrated, env):
    started = Started(["consumer"], env)
    try:
        started.wait_for("usage consumer")
        cmdline = started.cmdline()
        assert "usage_consumer" in cmdline and "entrypoint.sh" not in cmdline, cmdline
        assert started.terminate() == 0, started.output
    finally:
        started.kill()


def test_unknown_process_type_is_refused_with_usage():
    result = subprocess.run([str(ENTRYPOINT), "serve"], capture_output=True, text=True, timeout=10)
    assert result.returncode == 64
    assert "web|worker|beat|consumer|migrate" in result.stderr
