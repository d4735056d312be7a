"""A product's call is forwarded with the customer's credential stripped and metered; the verify
API answers and charges like a proxied call for an operator's own backend."""

from __future__ import annotations

import json

import pytest
from django.conf import settings

from accounts.access_tokens import InvalidTokenRequest, personal_access_token_create
from keys.services import api_key_revoke
from tests.factories import MembershipFactory, UserFactory
from tests.gateway.catalogue_kit import problem_slug, product_make, stream_events
from tests.gateway.conftest import settle
from tests.gateway.test_limits import on_plan
from tests.gateway.upstream import RecordingUpstream, proxy_call
from tests.servers import free_port
from usage.limiter import quota_used

UPSTREAM_KEY = "upstream-credential-" + "u" * 20
OPERATIONS = [("GET", "/things/{id}", "thing_get"), ("GET", "/missing", "missing_get")]
FIXED = {"meter": "things.read", "unit_rule": "fixed", "units_fixed": 1}


@pytest.fixture(scope="module")
def upstream():
    server = RecordingUpstream(secret=settings.GATEWAY_IDENTITY_SECRET).start()
    yield server
    server.stop()


@pytest.fixture
def things(upstream, roomy):
    upstream.received.clear()
    return product_make(
        slug="things",
        upstream_url=upstream.url + "/api",
        operations=OPERATIONS,
        pricing={"thing_get": FIXED, "missing_get": FIXED},
        upstream_auth_header="X-Upstream-Key",
        upstream_auth_secret=UPSTREAM_KEY,
    )


def test_proxy_forwards_strips_credentials_and_meters(things, upstream, org, live_key, redis_client):
    key, raw = live_key
    response, content = proxy_call(
        "GET",
        "/v1/things/things/42?x=1",
        authorization=f"Bearer {raw}",
        cookie="sessionid=portal-session",
        x_trace="t1",
        x_hop="private",
        connection="keep-alive, X-Hop",
    )
    assert response.status_code == 200, content
    got = upstream.last()
    assert got.target == "/api/things/42?x=1"
    sent = {name.lower() for name, _ in got.headers}
    assert not sent & {"authorization", "x-api-key", "cookie", "x-hop", "x-tollgate-org", "x-tollgate-plan"}
    assert got.header("X-Trace") == ["t1"] and got.header("X-Upstream-Key") == [UPSTREAM_KEY]
    assert got.identity is not None and (got.identity["product"], got.identity["op"]) == ("things", "thing_get")
    assert response["X-Upstream"] == "yes" and response["X-Usage-Units"] == "1"
    assert response["X-Usage-Meter"] == "things.read" and "RateLimit" in response
    assert "Connection" not in response and got.header("X-Request-Id") == [response["X-Request-Id"]]
    [event] = stream_events(redis_client)
    assert (event.operation_id, event.status, event.api_key_id, event.units, event.meter) == (
        "thing_get",
        200,
        key.pk,
        1,
        "things.read",
    )


def test_proxy_requires_a_key_and_scope(client, things, upstream, org, make_key):
    missing = client.get("/v1/things/things/1")
    assert missing.status_code == 401 and problem_slug(missing) == "unauthenticated"
    for scopes, status in [
        (["sms_send"], 403),
        (["product:demo"], 403),
        (["thing_get"], 200),
        (["product:things"], 200),
    ]:
        _, raw = make_key(org, scopes=scopes)
        response = client.get("/v1/things/things/1", HTTP_X_API_KEY=raw)
        assert response.status_code == status, (scopes, response.content)
        if status == 403:
            assert problem_slug(response) == "scope" and response.json()["operation"] == "thing_get"
    assert len(upstream.received) == 2  # only the allowed calls got through


def test_upstream_errors_are_not_charged_units(client, things, live_key, redis_client):
    _, raw = live_key
    response = client.get("/v1/things/missing", HTTP_X_API_KEY=raw)
    assert response.status_code == 404 and response["X-Usage-Units"] == "0"
    assert response["X-Upstream"] == "yes"  # the upstream's own answer, passed through
    assert [(event.status, event.units) for event in stream_events(redis_client)] == [(404, 0)]


def test_unreachable_upstream_is_a_502_problem_counted_with_no_units(client, roomy, org, live_key, redis_client):
    product_make(
        slug="gone", upstream_url=f"http://127.0.0.1:{free_port()}", operations=OPERATIONS, pricing={"thing_get": FIXED}
    )
    _, raw = live_key
    response = client.get("/v1/gone/things/1", HTTP_X_API_KEY=raw)
    assert response.status_code == 502 and problem_slug(response) == "bad-gateway"
    assert response["X-Usage-Units"] == "0"
    assert [(event.status, event.units) for event in stream_events(redis_client)] == [(502, 0)]


# --- POST /v1/keys/verify ---------------------------------------------------------------------
@pytest.fixture
def operator(settings):
    settings.GATEWAY_VERIFY_TOKEN = "op-secret-token-" + "o" * 20
    return {"HTTP_AUTHORIZATION": f"Bearer {settings.GATEWAY_VERIFY_TOKEN}"}


def verify(client, headers, **data):
    data.setdefault("product", "demo")
    return client.post("/v1/keys/verify", json.dumps(data), content_type="application/json", **headers)


def test_verify_charges_the_call(client, operator, org, live_key, redis_client):
    key, raw = live_key
    response = verify(client, operator, key=raw, operation_id="ai_completion_create", units=321)
    assert response.status_code == 200
    assert response.json() == {
        "valid": True,
        "code": "ok",
        "org_id": org.pk,
        "key_id": key.pk,
        "mode": "live",
        "scopes": [],
        "plan": "free",
        "meter": "ai.tokens",
        "units": 321,
        "retry_after": None,
    }
    settle()
    assert quota_used(org_id=org.pk) == 1
    [event] = stream_events(redis_client)
    assert (event.operation_id, event.units, event.meter, event.method) == (
        "ai_completion_create",
        321,
        "ai.tokens",
        "VERIFY",
    )


def test_verify_units_follow_the_operation_rule(client, operator, live_key):
    _, raw = live_key
    fixed = verify(client, operator, key=raw, operation_id="delivery_status_get", units=50).json()
    assert fixed["valid"] is True and fixed["units"] == 1 and fixed["meter"] == "delivery.status_check"
    counted = verify(client, operator, key=raw, operation_id="sms_send")
    assert counted.status_code == 400 and "units" in counted.json()["errors"]
    for unknown in ({"operation_id": "nope"}, {"operation_id": "sms_send", "product": "nope"}):
        missing = verify(client, operator, key=raw, **unknown)
        assert missing.status_code == 404 and problem_slug(missing) == "unknown-operation"


def test_verify_without_charge_counts_nothing(client, operator, org, live_key, redis_client):
    _, raw = live_key
    assert verify(client, operator, key=raw, operation_id="sms_send", units=2, charge=False).json()["valid"] is True
    settle()
    assert quota_used(org_id=org.pk) == 0 and stream_events(redis_client) == []


def test_verify_reports_invalid_scope_and_limits(client, operator, org, make_key, django_capture_on_commit_callbacks):
    on_plan(org, rate_per_minute=1, monthly_quota=None)
    key, raw = make_key(org, scopes=["sms_send"])
    sms = {"operation_id": "sms_send", "units": 1}
    assert verify(client, operator, key="tg_live_" + "n" * 32, **sms).json()["code"] == "invalid_key"
    assert verify(client, operator, key=raw, operation_id="delivery_status_get").json()["code"] == "forbidden_scope"
    assert verify(client, operator, key=raw, **sms).json()["valid"] is True
    limited = verify(client, operator, key=raw, **sms).json()
    assert limited["code"] == "rate_limited" and limited["valid"] is False and limited["retry_after"] >= 1
    with django_capture_on_commit_callbacks(execute=True):
        api_key_revoke(key=key)
    assert verify(client, operator, key=raw, **sms).json()["code"] == "invalid_key"


def test_verify_requires_the_operator_token(client, operator, settings, live_key):
    _, raw = live_key
    call = {"key": raw, "operation_id": "delivery_status_get"}
    assert verify(client, operator, **call).status_code == 200
    assert verify(client, {}, **call).status_code == 401
    assert verify(client, {"HTTP_AUTHORIZATION": "Bearer wrong"}, **call).status_code == 401
    settings.GATEWAY_VERIFY_TOKEN = ""  # off: an empty bearer must not match it
    assert verify(client, {"HTTP_AUTHORIZATION": "Bearer "}, **call).status_code == 401
    assert verify(client, operator, **call).status_code == 401


def test_verify_takes_a_staff_members_token_with_the_keys_verify_scope(client, settings, org, live_key):
    settings.GATEWAY_VERIFY_TOKEN = ""
    _, raw = live_key
    call = {"key": raw, "operation_id": "delivery_status_get"}
    staff = MembershipFactory(organization=org, user=UserFactory(is_staff=True))
    _, verify_token = personal_access_token_create(membership=staff, name="backend", scopes=["keys:verify"])
    _, read_token = personal_access_token_create(membership=staff, name="reader", scopes=["keys:read"])
    assert verify(client, {"HTTP_AUTHORIZATION": f"Bearer {verify_token}"}, **call).json()["valid"] is True
    assert verify(client, {"HTTP_AUTHORIZATION": f"Bearer {read_token}"}, **call).status_code == 401
    staff.user.is_staff = False
    staff.user.save(update_fields=["is_staff"])
    assert verify(client, {"HTTP_AUTHORIZATION": f"Bearer {verify_token}"}, **call).status_code == 401
    member = MembershipFactory(organization=org, user=UserFactory())
    with pytest.raises(InvalidTokenRequest):
        personal_access_token_create(membership=member, name="nope", scopes=["keys:verify"])
