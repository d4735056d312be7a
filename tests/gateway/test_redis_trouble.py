"""Redis down or hanging: bounded time, 503 problem+json with Retry-After, recovery by itself."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connections

from keys.cache import local_cache_clear
from tests.gateway.conftest import TRACKING
from tests.redis_trouble import blackhole, closed_port, redis_at

PATH = f"/v1/demo/deliveries/{TRACKING}"
pytestmark = pytest.mark.usefixtures("roomy")


@pytest.fixture
def raw_client(client):
    client.raise_request_exception = False  # as a real server: an exception becomes a response
    return client


def get(client, path, raw=None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"} if raw else {}
    return client.get(path, **headers)


def assert_unavailable(response):
    assert response.status_code == 503, response.content[:300]
    assert response["Content-Type"] == "application/problem+json", response.content[:300]
    assert int(response["Retry-After"]) >= 1
    body = response.json()
    assert body["type"].endswith("#temporarily-unavailable") and body["retry_after"] >= 1


def bounded(fn, *, seconds: float):
    """Run ``fn`` in a thread; fail (instead of hanging the suite) if it takes longer."""
    result: list = []

    def run():
        try:
            result.append(fn())
        finally:
            connections.close_all()  # this thread's own database connection

    worker = threading.Thread(target=run, daemon=True)
    started = time.monotonic()
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"still waiting after {seconds} s"
    return result[0], time.monotonic() - started


def test_refused_redis_connection_is_a_503_problem_then_service_resumes(raw_client, live_key, settings):
    _, raw = live_key
    assert get(raw_client, PATH, raw).status_code == 200  # warm: the key is in process memory
    with redis_at(settings, f"redis://127.0.0.1:{closed_port()}/0"):
        assert_unavailable(get(raw_client, PATH, raw))
        local_cache_clear()  # a cold key needs Redis to be looked up
        assert_unavailable(get(raw_client, PATH, raw))
    # Same process, no restart: the pool reconnects on its own.
    assert get(raw_client, PATH, raw).status_code == 200


def test_redis_that_never_answers_is_a_503_within_the_socket_timeout(raw_client, live_key, settings):
    _, raw = live_key
    assert get(raw_client, PATH, raw).status_code == 200
    with blackhole() as port, redis_at(settings, f"redis://127.0.0.1:{port}/0"):
        response, took = bounded(lambda: get(raw_client, PATH, raw), seconds=10)
    assert_unavailable(response)
    assert took < 5, took


def test_customer_api_answers_a_503_problem_while_redis_is_down(raw_client, member_client, settings):
    with redis_at(settings, f"redis://127.0.0.1:{closed_port()}/0"):
        response = member_client.get("/api/keys/")
    assert_unavailable(response)


def test_readyz_is_red_while_redis_hangs_and_green_again_after(client, settings):
    with blackhole() as port, redis_at(settings, f"redis://127.0.0.1:{port}/0"):
        response, took = bounded(lambda: client.get("/readyz"), seconds=10)
    assert response.status_code == 503
    assert response.json()["checks"]["redis"]["ok"] is False
    assert took < 5, took
    assert client.get("/readyz").json()["checks"]["redis"]["ok"] is True
