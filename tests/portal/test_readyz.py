"""/readyz answers anonymous callers with each dependency's state only, and a flood of calls
cannot become a flood of Celery broker pings."""

from __future__ import annotations

import http.client
import json
import subprocess
import threading
import time
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.test import Client

from portal import views
from tests.servers import free_port, granian_start

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_readyz_says_down_without_hosts_ports_or_users_and_logs_the_cause():
    """A real server whose PostgreSQL and Redis are unreachable (nothing listens on their ports)."""
    pg_port, redis_port = free_port(), free_port()
    env = {
        "DATABASE_URL": f"postgres://tollgate_rw@127.0.0.1:{pg_port}/tollgate_prod",
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/3",
        "CELERY_BROKER_URL": settings.REDIS_URL,
    }
    proc, port = granian_start("portal.asgi:application", env=env, stderr=subprocess.PIPE, text=True)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/readyz")
        response = conn.getresponse()
        body = response.read().decode()
    finally:
        proc.terminate()
        _, log = proc.communicate(timeout=20)
    assert response.status == 503
    checks = json.loads(body)["checks"]
    assert checks["postgres"] == {"ok": False, "status": "down"} and checks["redis"] == {"ok": False, "status": "down"}
    for secret in ("127.0.0.1", str(pg_port), str(redis_port), "tollgate_rw", "tollgate_prod", "Error", "refused"):
        assert secret not in body, secret
    assert str(pg_port) in log and str(redis_port) in log  # the operator's log has the cause


def _pidbox_counter():
    """Counts Celery control broadcasts (what ``control.ping`` publishes) on our broker's database."""
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    db = broker.connection_pool.connection_kwargs.get("db", 0)
    pubsub = broker.pubsub()
    pubsub.psubscribe(f"/{db}.*pidbox*")
    seen: list[bytes] = []

    def listen():
        for message in pubsub.listen():
            if message["type"] == "pmessage":
                seen.append(message["channel"])

    threading.Thread(target=listen, daemon=True).start()
    time.sleep(0.2)
    return seen, broker  # keep the client referenced: collecting it closes the subscription


@pytest.mark.django_db(transaction=True)
def test_a_flood_of_readyz_calls_pings_the_broker_once_per_cache_window(settings):
    assert settings.READYZ_CELERY_CACHE_SECONDS == 10
    views.readiness_cache_clear()
    seen, broker = _pidbox_counter()
    try:
        client = Client()
        assert {client.get("/readyz").status_code for _ in range(30)} == {503}  # no worker runs here
        burst = [threading.Thread(target=lambda: Client().get("/readyz")) for _ in range(10)]
        for thread in burst:
            thread.start()
        for thread in burst:
            thread.join()
        time.sleep(0.3)
        assert len(seen) == 1, seen
        settings.READYZ_CELERY_CACHE_SECONDS = 0.5
        time.sleep(0.6)  # the window is over: the next call probes again
        assert client.get("/readyz").json()["checks"]["celery"]["ok"] is False
        time.sleep(0.3)
        assert len(seen) == 2, seen
    finally:
        broker.close()
        views.readiness_cache_clear()
