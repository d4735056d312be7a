"""Whatever a client sends, the API answers in problem+json, and a bad request still counts."""

from __future__ import annotations

import time

import pytest

from plans.models import Subscription
from products.catalogue import catalogue_reset
from products.services import product_update
from tests.factories import PlanFactory, subscribe
from tests.gateway.catalogue_kit import stream_events
from tests.gateway.conftest import settle
from usage.entitlements import entitlements_publish
from usage.limiter import quota_used

NESTED = "[" * 100_000  # deeper than the JSON decoder recurses (in a server thread ~2 KB already is)


@pytest.fixture
def raw_client(client):
    """The test client as a real server behaves: an unhandled exception becomes a response."""
    client.raise_request_exception = False
    return client


def assert_problem(response, status: int, slug: str) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/problem+json", response.content[:300]
    body = response.json()
    assert body["status"] == status and body["type"].endswith(f"#{slug}"), body
    return body


@pytest.mark.usefixtures("roomy")
def test_deeply_nested_json_on_the_gateway_is_a_400_problem(raw_client, live_key):
    _, raw = live_key
    response = raw_client.post(
        "/v1/demo/sms", data=NESTED, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {raw}"
    )
    assert_problem(response, 400, "malformed-request")


def test_deeply_nested_json_on_the_customer_api_is_a_400_problem(raw_client, member_client):
    response = member_client.post("/api/keys/create/", data=NESTED, content_type="application/json")
    assert_problem(response, 400, "malformed-request")


@pytest.mark.usefixtures("roomy")
def test_body_over_the_products_limit_on_the_gateway_is_a_413_problem_counted_with_no_units(
    raw_client, org, live_key, demo_product, redis_client
):
    product_update(product=demo_product, max_request_bytes=1024)
    catalogue_reset()
    _, raw = live_key
    response = raw_client.post(
        "/v1/demo/sms",
        data='{"to": ["+2348012345678"], "message": "' + "x" * 2000 + '"}',
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    body = assert_problem(response, 413, "payload-too-large")
    assert body["max_bytes"] == 1024 and response["X-Usage-Units"] == "0"
    settle()
    assert quota_used(org_id=org.pk) == 1
    assert [(event.status, event.units) for event in stream_events(redis_client)] == [(413, 0)]
    # Within the limit the same operation is served.
    small = raw_client.post(
        "/v1/demo/sms",
        data='{"to": ["+2348012345678"], "message": "hi"}',
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    assert small.status_code == 201 and small["X-Usage-Units"] == "1"


def test_body_over_the_upload_limit_on_the_customer_api_is_a_413_problem(raw_client, member_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    response = member_client.post(
        "/api/keys/create/", data='{"name": "' + "x" * 2000 + '"}', content_type="application/json"
    )
    assert_problem(response, 413, "payload-too-large")


def test_invalid_requests_count_toward_the_per_second_limit(raw_client, org, live_key):
    Subscription.objects.filter(organization=org).update(status="canceled")
    subscribe(org, PlanFactory(rate_per_second=3, rate_per_minute=None, monthly_quota=None))
    entitlements_publish(org_id=org.pk)
    _, raw = live_key
    for _attempt in range(5):  # all five inside one (fresh) second, else try again
        time.sleep(1.01 - time.time() % 1)
        second = int(time.time())
        statuses = [
            raw_client.post(
                "/v1/demo/sms", data=body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {raw}"
            ).status_code
            for body in (NESTED, "{not json", '{"to": [], "message": ""}', NESTED, "{}")
        ]
        if int(time.time()) == second:
            break
    assert statuses == [400, 400, 400, 429, 429], statuses


@pytest.mark.usefixtures("roomy")
def test_invalid_input_is_counted_as_a_request_with_no_units(api, org, live_key, redis_client):
    _, raw = live_key
    response = api.post("/v1/demo/sms", raw, {"to": ["0801"], "message": ""})
    assert response.status_code == 400
    assert response["X-Usage-Units"] == "0"
    assert quota_used(org_id=org.pk) == 1
    [event] = stream_events(redis_client)
    assert (event.status, event.units) == (400, 0)
