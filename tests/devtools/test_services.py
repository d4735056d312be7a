"""The embedded PostgreSQL + Redis path of ``make run`` / ``make test``, forced with
TOLLGATE_EMBEDDED=1 (the machine's servers answer here), in a throwaway data directory."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
import redis

ROOT = Path(__file__).resolve().parents[2]
PG_PORT, REDIS_PORT = "8040", "8041"  # this area's port range; not the defaults make run uses

pytestmark = pytest.mark.slow


def _services(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "devtools.services", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _exports(stdout: str) -> dict[str, str]:
    values = {}
    for line in stdout.splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        values[name] = shlex.split(value)[0] if value else ""
    return values


def test_forced_embedded_services_start_answer_and_stop(tmp_path):
    env = {
        **os.environ,
        "TOLLGATE_EMBEDDED": "1",
        "TOLLGATE_VAR_DIR": str(tmp_path / "var"),
        "EMBEDDED_PG_PORT": PG_PORT,
        "EMBEDDED_REDIS_PORT": REDIS_PORT,
    }
    try:
        result = _services("env", "--mode", "test", env=env)
        assert result.returncode == 0, result.stderr
        found = _exports(result.stdout)
        # Forced: the shell's DATABASE_URL / REDIS_URL (the machine's servers) are ignored.
        assert found["DATABASE_URL"] == f"postgres://postgres@127.0.0.1:{PG_PORT}/tollgate"
        assert found["REDIS_URL"] == f"redis://127.0.0.1:{REDIS_PORT}/0"
        assert found["CELERY_BROKER_URL"] == found["REDIS_URL"]
        assert found["TOLLGATE_EMBEDDED_STARTED"] == "postgres,redis"
        with psycopg.connect(found["DATABASE_URL"], connect_timeout=5) as conn:
            assert conn.execute("SELECT current_database()").fetchone()[0] == "tollgate"
        client = redis.Redis.from_url(found["REDIS_URL"])
        assert client.ping()
        assert (tmp_path / "var" / "postgres" / "data" / "PG_VERSION").exists()

        # A second call reuses the running servers and reports that it started nothing.
        again = _exports(_services("env", "--mode", "test", env=env).stdout)
        assert again["DATABASE_URL"] == found["DATABASE_URL"] and again["TOLLGATE_EMBEDDED_STARTED"] == ""
    finally:
        stopped = _services("stop", env=env)
    assert stopped.returncode == 0, stopped.stderr
    with pytest.raises(redis.ConnectionError):
        redis.Redis.from_url(f"redis://127.0.0.1:{REDIS_PORT}/0", socket_connect_timeout=1).ping()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(f"postgres://postgres@127.0.0.1:{PG_PORT}/tollgate", connect_timeout=2)
