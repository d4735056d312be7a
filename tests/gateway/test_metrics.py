"""The gateway's counters at /metrics move with its traffic (one process: the default registry)."""

from __future__ import annotations

import pytest

from tests.gateway.conftest import TRACKING
from tests.metrics_scrape import TOKEN, scrape, value

CALLS = "tollgate_gateway_request_duration_seconds_count"
REFUSALS = "tollgate_gateway_refusals_total"
DELIVERY = f"/v1/demo/deliveries/{TRACKING}"


@pytest.fixture(autouse=True)
def _token(settings):
    settings.METRICS_TOKEN = TOKEN


def test_admitted_calls_are_counted_by_operation_and_status(client, api, org, roomy, make_key):
    _, raw = make_key(org)
    before = scrape(client)
    for _ in range(3):
        assert api.get(DELIVERY, raw).status_code == 200
    assert api.get("/v1/demo/deliveries/not-a-tracking-id", raw).status_code == 400
    after = scrape(client)
    ok = {"product": "demo", "operation": "delivery_status_get", "status": "200"}
    bad = {**ok, "status": "400"}
    assert value(after, CALLS, **ok) - value(before, CALLS, **ok) == 3
    assert value(after, CALLS, **bad) - value(before, CALLS, **bad) == 1
    # Latency is observed too: the sum grew, and every call fell in the +Inf bucket.
    assert value(after, "tollgate_gateway_request_duration_seconds_sum", **ok) > value(
        before, "tollgate_gateway_request_duration_seconds_sum", **ok
    )
    inf = "tollgate_gateway_request_duration_seconds_bucket"
    assert value(after, inf, **ok, le="+Inf") - value(before, inf, **ok, le="+Inf") == 3


def test_refusals_are_counted_by_reason(client, api, org, roomy, make_key):
    _, raw = make_key(org, scopes=["delivery_status_get"])
    before = scrape(client)
    assert api.get(DELIVERY).status_code == 401  # no credential
    assert api.get(DELIVERY, "tg_live_" + "x" * 40).status_code == 401  # a key that does not exist
    assert api.post("/v1/demo/sms", raw, {"to": ["+2348012345678"], "message": "hi"}).status_code == 403  # scope
    assert api.get("/v1/demo/no-such-operation", raw).status_code == 404
    after = scrape(client)
    for reason in ("unauthenticated", "invalid-credentials", "scope", "no-route"):
        assert value(after, REFUSALS, reason=reason) - value(before, REFUSALS, reason=reason) == 1, reason
    ok = {"product": "demo", "operation": "delivery_status_get", "status": "200"}
    assert value(after, CALLS, **ok) == value(before, CALLS, **ok)  # none of them was admitted


def test_rate_limited_calls_are_counted_as_such(client, api, org, make_key, seeded):
    from tests.factories import PlanFactory, subscribe
    from usage.entitlements import entitlements_publish

    subscribe(org, PlanFactory(rate_per_minute=2, monthly_quota=None))
    entitlements_publish(org_id=org.pk)
    _, raw = make_key(org)
    before = scrape(client)
    statuses = [api.get(DELIVERY, raw).status_code for _ in range(4)]
    after = scrape(client)
    assert statuses == [200, 200, 429, 429]
    assert value(after, REFUSALS, reason="rate-limited") - value(before, REFUSALS, reason="rate-limited") == 2
