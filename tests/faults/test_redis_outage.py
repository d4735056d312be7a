"""Redis paused, then killed and restarted, under metered traffic through a real app server.

Own redis-server (AOF, ``appendfsync always``) and granian (2 workers) on free ports:
  * warm up, use part of a quota-limited organization's quota;
  * traffic from several threads; Redis paused (SIGSTOP) 5 s, resumed; later SIGKILLed and
    restarted 3 s after on the same port and data directory;
  * every response is bounded in time and is a 200 or a 503 problem+json with Retry-After —
    never HTML, never a hang, never a dropped connection;
  * after recovery the quota and the per-second limit are exact, and once the workers flushed
    and the consumer drained, the events stored are exactly the 2xx responses.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid

import pytest
from django.db import connection

from keys.services import api_key_create
from products.demo import demo_product_seed
from tests.factories import OrganizationFactory, PlanFactory, subscribe
from tests.faults._redis import ROOT, RedisServer, start_app_server, stop_app_server

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
PATH = "/v1/demo/deliveries/trk_0123456789abcdef01234567"
THREADS = 6
PAUSE_AT, PAUSE_FOR = 3.0, 5.0
KILL_AT, DOWN_FOR = 11.0, 3.0
TRAFFIC_FOR = 20.0
MAX_SECONDS_PER_REQUEST = 4.0  # REDIS_SOCKET_TIMEOUT (2 s) plus margin for a busy machine; < the 5 s pause
QUOTA, USED_BEFORE = 30, 10
HARD_TIMEOUT = 90


class Client:
    def __init__(self, port: int, raw_key: str) -> None:
        self.port, self.raw_key = port, raw_key
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)

    def get(self) -> dict:
        request_id = uuid.uuid4().hex
        started = time.monotonic()
        try:
            self.conn.request(
                "GET", PATH, headers={"Authorization": f"Bearer {self.raw_key}", "X-Request-Id": request_id}
            )
            response = self.conn.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException) as exc:  # a hang (timeout) or a dropped connection
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
            return {"id": request_id, "status": 0, "error": repr(exc), "took": time.monotonic() - started}
        return {
            "id": request_id,
            "status": response.status,
            "type": response.getheader("Content-Type", ""),
            "at": started,
            "retry_after": response.getheader("Retry-After"),
            "body": body if response.status != 200 else b"",
            "took": time.monotonic() - started,
        }


def _database_url() -> str:
    s = connection.settings_dict
    return f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


_ORG_IDS: list[int] = []  # this test's organizations: usage_event is unmanaged, other tests' rows stay


def _key_on(plan) -> str:
    org = OrganizationFactory()
    _ORG_IDS.append(org.pk)
    subscribe(org, plan)
    _, raw = api_key_create(org=org, name="fault", mode="live")
    return raw


def _stored_ids() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT request_id FROM usage_event WHERE org_id = ANY(%s)", [_ORG_IDS])
        return [row[0] for row in cursor.fetchall()]


@pytest.fixture
def hard_timeout():
    """Whatever happens, this test ends within HARD_TIMEOUT seconds (it cannot hang CI)."""

    def expire(signum, frame):
        raise TimeoutError(f"fault test still running after {HARD_TIMEOUT} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(HARD_TIMEOUT)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def test_redis_paused_then_killed_and_restarted_under_traffic(tmp_path, hard_timeout, demo_upstream_url):
    test_started = time.monotonic()
    demo_product_seed(upstream_url=demo_upstream_url)
    raw_busy = _key_on(PlanFactory(monthly_quota=None, overage_policy="bill"))
    raw_quota = _key_on(PlanFactory(monthly_quota=QUOTA))
    raw_rps = _key_on(PlanFactory(monthly_quota=None, rate_per_second=5))

    redis_server = RedisServer(tmp_path)
    redis_server.start()
    app, port = start_app_server(database_url=_database_url(), redis_url=redis_server.url, log=tmp_path / "app.log")
    results: list[dict] = []
    try:
        # Warm up both workers (new connections spread over them) and use part of a quota.
        warm = [Client(port, raw_busy).get() for _ in range(20)]
        assert {r["status"] for r in warm} == {200}
        results += warm
        quota_client = Client(port, raw_quota)
        before = [quota_client.get() for _ in range(USED_BEFORE)]
        assert [r["status"] for r in before] == [200] * USED_BEFORE
        results += before

        stop = threading.Event()

        def traffic():
            client = Client(port, raw_busy)
            while not stop.is_set():
                results.append(client.get())

        threads = [threading.Thread(target=traffic, daemon=True) for _ in range(THREADS)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        time.sleep(PAUSE_AT)
        redis_server.pause()
        time.sleep(PAUSE_FOR)
        redis_server.resume()
        time.sleep(max(KILL_AT - (time.monotonic() - started), 0))
        redis_server.kill()
        time.sleep(DOWN_FOR)
        redis_server.start()
        time.sleep(max(TRAFFIC_FOR - (time.monotonic() - started), 0))
        stop.set()
        for thread in threads:
            thread.join(MAX_SECONDS_PER_REQUEST * 3)
        assert not any(thread.is_alive() for thread in threads), "a client thread is stuck"

        # Limits and quota after recovery: exact.
        after = [quota_client.get() for _ in range(QUOTA)]
        results += after
        assert [r["status"] for r in after] == [200] * (QUOTA - USED_BEFORE) + [429] * USED_BEFORE
        assert json.loads(after[-1]["body"])["type"].endswith("#quota-exceeded")
        rps_client = Client(port, raw_rps)
        for _ in range(5):
            time.sleep(1.02 - time.time() % 1)  # start at the beginning of a second
            burst = [rps_client.get() for _ in range(8)]
            results += burst
            if sum(r["status"] == 200 for r in burst) == 5:
                break  # else the burst straddled two seconds: try again
        assert [r["status"] for r in burst] == [200] * 5 + [429] * 3
    finally:
        stop_app_server(app)  # graceful: workers flush what they still buffer

    try:
        consumer = subprocess.run(
            [sys.executable, "manage.py", "usage_consumer", "--once", "--claim-idle-ms", "0"],
            cwd=ROOT,
            env={**os.environ, "DATABASE_URL": _database_url(), "REDIS_URL": redis_server.url},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert consumer.returncode == 0, consumer.stdout + consumer.stderr
        in_stream = {
            event["request_id"]
            for _, fields in redis_server.client().xrange("usage:events")
            for event in json.loads(fields[b"b"])
        }
    finally:
        redis_server.stop()

    # Every answer bounded in time, and either served or a clean, retryable 503.
    slowest = max(r["took"] for r in results)
    dropped = [r for r in results if r["status"] == 0]
    assert not dropped, dropped[:3]
    assert slowest < MAX_SECONDS_PER_REQUEST, slowest
    unavailable = [r for r in results if r["status"] == 503]
    unexpected = [r for r in results if r["status"] not in (200, 503, 429)]
    assert not unexpected, unexpected[:3]
    for r in unavailable:
        assert r["type"] == "application/problem+json" and int(r["retry_after"]) >= 1, r
        assert json.loads(r["body"])["type"].endswith("#temporarily-unavailable"), r
    assert unavailable, "the outage was not noticed: the test did not test anything"

    served = {r["id"] for r in results if r["status"] == 200}
    stored = _stored_ids()
    lost = served - set(stored)
    extra = set(stored) - served
    duplicated = len(stored) - len(set(stored))
    where = [(round(r["at"] - test_started, 2), r["id"] in in_stream) for r in results if r["id"] in lost]
    assert not lost and not extra and duplicated == 0, (where, consumer.stdout)
