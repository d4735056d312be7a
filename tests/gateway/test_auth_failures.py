"""Made-up keys: no SQL query per key, and an address that keeps failing is slowed down."""

from __future__ import annotations

import secrets

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from keys.cache import KNOWN_DIGESTS, key_digest, known_member, local_cache_clear
from keys.tasks import api_keys_known_refresh_task
from tests.gateway.conftest import TRACKING

PATH = f"/v1/demo/deliveries/{TRACKING}"
pytestmark = pytest.mark.usefixtures("roomy")


def made_up_key() -> str:
    return "tg_live_" + secrets.token_urlsafe(24)


def get(client, raw, address="192.0.2.10"):
    return client.get(PATH, HTTP_AUTHORIZATION=f"Bearer {raw}", REMOTE_ADDR=address)


def test_distinct_unknown_keys_do_not_cost_a_query_each(client, org, make_key):
    for n in range(3):
        make_key(org, name=f"real {n}")
    get(client, made_up_key(), "192.0.2.1")  # the first lookup may prepare what the next ones use
    with CaptureQueriesContext(connection) as queries:
        for n in range(200):
            assert get(client, made_up_key(), f"198.18.{n // 250}.{n % 250}").status_code == 401
    assert len(queries) <= 2, [q["sql"] for q in queries]


def test_unknown_keys_stay_cheap_after_redis_loses_its_data(client, org, make_key, redis_client):
    _, raw = make_key(org)
    assert get(client, raw).status_code == 200
    redis_client.flushdb()  # a Redis restart without persistence
    local_cache_clear()
    with CaptureQueriesContext(connection) as queries:
        for n in range(100):
            assert get(client, made_up_key(), f"198.18.1.{n}").status_code == 401
    assert len(queries) <= 3, [q["sql"] for q in queries]
    assert get(client, raw).status_code == 200


def test_a_new_key_works_on_its_first_request(client, org, make_key):
    get(client, made_up_key())  # whatever a miss prepares is now in place
    _, raw = make_key(org)
    assert get(client, raw).status_code == 200


def test_repeated_failures_from_one_address_are_refused_with_429(client, org, make_key, settings):
    settings.GATEWAY_AUTH_FAILURES_MAX = 5
    settings.GATEWAY_AUTH_FAILURES_WINDOW = 60
    _, raw = make_key(org)
    assert get(client, raw, "203.0.113.7").status_code == 200  # a working key, warm in memory
    for _ in range(5):
        assert get(client, made_up_key(), "203.0.113.7").status_code == 401
    refused = get(client, made_up_key(), "203.0.113.7")
    assert refused.status_code == 429
    assert refused["Content-Type"] == "application/problem+json"
    assert 1 <= int(refused["Retry-After"]) <= 60
    body = refused.json()
    assert body["type"].endswith("#auth-failures") and body["retry_after"] == int(refused["Retry-After"])
    # Malformed credentials and bad tokens count too; other addresses are not affected.
    assert client.get(PATH, HTTP_AUTHORIZATION="Bearer nonsense", REMOTE_ADDR="203.0.113.7").status_code == 429
    assert get(client, made_up_key(), "203.0.113.8").status_code == 401
    # A key that works keeps working from that address.
    assert get(client, raw, "203.0.113.7").status_code == 200


def test_failure_counts_are_shared_by_every_process(client, settings):
    settings.GATEWAY_AUTH_FAILURES_MAX = 3
    for _ in range(3):
        assert get(client, made_up_key(), "203.0.113.9").status_code == 401
        local_cache_clear()  # as if each request reached another process
    assert get(client, made_up_key(), "203.0.113.9").status_code == 429


def test_a_key_missing_from_the_known_set_is_found_again_by_the_hourly_refresh(client, org, make_key, redis_client):
    _, raw = make_key(org)
    get(client, made_up_key())  # the set is filled and ready
    redis_client.srem(KNOWN_DIGESTS, known_member(key_digest(raw)))  # lost with Redis' data mid-creation
    assert get(client, raw).status_code == 401
    local_cache_clear()
    assert api_keys_known_refresh_task() is True
    assert get(client, raw).status_code == 200
