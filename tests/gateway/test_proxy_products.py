"""Routing through the catalogue and who may call a product: method + template (a literal beats
a parameter, 405 with Allow, 404 no-route), visibility, plans, key scopes, and access taken away
on the next call once the catalogue refreshes. The upstream is a real HTTP server on loopback."""

from __future__ import annotations

import json

import pytest
from django.conf import settings

from plans.models import Plan
from products.services import operation_update, product_update
from tests.factories import PlanFactory
from tests.gateway.catalogue_kit import product_make, stream_events
from tests.gateway.conftest import settle
from tests.gateway.scripted_upstream import ScriptedUpstream, json_answer
from tests.gateway.upstream import proxy_call
from usage.limiter import quota_used

OPERATIONS = [
    ("GET", "/users/me", "users_me"),
    ("GET", "/users/{id}", "user_get"),
    ("DELETE", "/users/{id}", "user_delete"),
    ("GET", "/users/{id}/keys", "user_keys"),
    ("POST", "/users", "user_create"),
    ("GET", "/cookie", "cookie_get"),
]


@pytest.fixture(scope="module")
def upstream():
    server = ScriptedUpstream(secret=settings.GATEWAY_IDENTITY_SECRET).start()
    server.on(
        "/api/cookie",
        json_answer({"ok": True}, headers=[("Set-Cookie", "session=upstream; Path=/"), ("X-Upstream", "yes")]),
    )
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _fresh_upstream(upstream):
    upstream.received.clear()


@pytest.fixture
def catalog(upstream, roomy):
    return product_make(slug="catalog", upstream_url=upstream.url + "/api", operations=OPERATIONS)


def call(method: str, path: str, raw: str, **headers) -> tuple:
    response, content = proxy_call(method, path, x_api_key=raw, **headers)
    return response, json.loads(content) if content else None


def slug_of(body: dict) -> str:
    return body["type"].rsplit("#", 1)[1]


# --- routing -------------------------------------------------------------------------------------
def test_a_literal_segment_beats_a_parameter_and_falls_back_to_it(catalog, upstream, live_key):
    _, raw = live_key
    for path, operation, target in [
        ("/v1/catalog/users/me", "users_me", "/api/users/me"),
        ("/v1/catalog/users/42", "user_get", "/api/users/42"),
        ("/v1/catalog/users/me/keys", "user_keys", "/api/users/me/keys"),
    ]:
        response, body = call("GET", path, raw)
        assert response.status_code == 200, body
        assert (body["target"], body["identity"]["op"]) == (target, operation)
    response, body = call("DELETE", "/v1/catalog/users/7", raw)
    assert response.status_code == 200 and (body["method"], body["identity"]["op"]) == ("DELETE", "user_delete")


def test_a_known_path_with_another_method_is_405_with_allow_and_not_counted(catalog, upstream, org, live_key):
    _, raw = live_key
    for method, path, allow in [
        ("PUT", "/v1/catalog/users/42", "DELETE, GET"),
        ("POST", "/v1/catalog/users/me", "DELETE, GET"),
        ("GET", "/v1/catalog/users", "POST"),
    ]:
        response, body = call(method, path, raw)
        assert response.status_code == 405 and slug_of(body) == "method-not-allowed", (method, path, body)
        assert response["Allow"] == allow
    settle()
    assert upstream.received == [] and quota_used(org_id=org.pk) == 0


def test_a_path_no_operation_matches_is_404_no_route(catalog, upstream, org, live_key, redis_client):
    _, raw = live_key
    for path in [
        "/v1/catalog/nothing",
        "/v1/catalog/users/42/keys/extra",
        "/v1/catalog/users/",  # a trailing slash is significant
        "/v1/catalog",
        "/v1/unknown/users/me",
        "/v1/CATALOG/users/me",
    ]:
        response, body = call("GET", path, raw)
        assert response.status_code == 404 and slug_of(body) == "no-route", (path, body)
    settle()
    assert upstream.received == [] and quota_used(org_id=org.pk) == 0 and stream_events(redis_client) == []


# --- what crosses to the upstream and back -------------------------------------------------------
def test_the_products_credential_replaces_the_customers_and_cookies_stay_home(upstream, roomy, live_key):
    product_make(
        slug="catalog",
        upstream_url=upstream.url + "/api",
        operations=OPERATIONS,
        upstream_auth_header="Authorization",
        upstream_auth_secret="Bearer upstream-secret-123",
    )
    _, raw = live_key
    response, content = proxy_call("GET", "/v1/catalog/cookie", authorization=f"Bearer {raw}", cookie="sessionid=abc")
    assert response.status_code == 200, content
    got = upstream.last()
    assert got.header("Authorization") == ["Bearer upstream-secret-123"]
    assert got.header("Cookie") == [] and not any(raw in value for _, value in got.headers)
    # The upstream's Set-Cookie is dropped (the portal's own session middleware may still clear
    # the unknown sessionid the client sent: that cookie is the portal's, on its domain).
    assert response["X-Upstream"] == "yes" and "Set-Cookie" not in response
    assert "session" not in response.cookies and set(response.cookies) <= {settings.SESSION_COOKIE_NAME}
    assert all(morsel.value != "upstream" for morsel in response.cookies.values())


# --- visibility, plans, scopes -------------------------------------------------------------------
def test_a_private_product_is_invisible_to_other_organizations(
    upstream, roomy, org, other_org, live_key, make_key, deliver
):
    product = product_make(
        slug="catalog",
        upstream_url=upstream.url + "/api",
        operations=OPERATIONS,
        visibility="private",
        organizations=[org],
    )
    _, raw = live_key
    _, other_raw = make_key(other_org)
    assert call("GET", "/v1/catalog/users/me", raw)[0].status_code == 200
    response, body = call("GET", "/v1/catalog/users/me", other_raw)
    assert response.status_code == 404 and slug_of(body) == "no-route"
    assert len(upstream.received) == 1
    # Chosen organizations see it; taking an organization off is refused on its next call.
    deliver(product_update, product=product, organizations=[org, other_org])
    assert call("GET", "/v1/catalog/users/me", other_raw)[0].status_code == 200
    deliver(product_update, product=product, visibility="private", organizations=[])
    for key in (raw, other_raw):
        response, body = call("GET", "/v1/catalog/users/me", key)
        assert response.status_code == 404 and slug_of(body) == "no-route"
    assert len(upstream.received) == 2


def test_a_plan_that_excludes_the_product_is_refused_and_not_counted(
    upstream, roomy, org, live_key, redis_client, deliver
):
    enterprise, other = Plan.objects.get(code="enterprise"), PlanFactory()
    product = product_make(slug="catalog", upstream_url=upstream.url + "/api", operations=OPERATIONS, plans=[other])
    _, raw = live_key
    response, body = call("GET", "/v1/catalog/users/me", raw)
    assert response.status_code == 403 and slug_of(body) == "plan-excluded"
    assert (body["plan"], body["product"]) == ("enterprise", "catalog") and body["upgrade_url"].endswith("/pricing/")
    settle()
    assert quota_used(org_id=org.pk) == 0 and stream_events(redis_client) == [] and upstream.received == []
    deliver(product_update, product=product, plans=[other, enterprise])
    response, _ = call("GET", "/v1/catalog/users/me", raw)
    assert response.status_code == 200
    settle()
    assert quota_used(org_id=org.pk) == 1
    deliver(product_update, product=product, plans=[other])  # taken out of the plan again
    response, body = call("GET", "/v1/catalog/users/me", raw)
    assert response.status_code == 403 and slug_of(body) == "plan-excluded"
    settle()
    assert quota_used(org_id=org.pk) == 1 and len(upstream.received) == 1


def test_the_verify_api_applies_the_same_visibility_and_plans(
    client, settings, upstream, roomy, org, other_org, make_key
):
    settings.GATEWAY_VERIFY_TOKEN = "op-secret-token-" + "o" * 20
    product_make(slug="hidden", upstream_url=upstream.url, operations=OPERATIONS, visibility="private")
    product_make(slug="premium", upstream_url=upstream.url, operations=OPERATIONS, plans=[PlanFactory()])
    _, raw = make_key(org)

    def verify(product):
        data = {"key": raw, "product": product, "operation_id": "users_me"}
        response = client.post(
            "/v1/keys/verify",
            json.dumps(data),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {settings.GATEWAY_VERIFY_TOKEN}",
        )
        return response.json()

    assert (verify("hidden")["valid"], verify("hidden")["code"]) == (False, "forbidden_scope")
    assert (verify("premium")["valid"], verify("premium")["code"]) == (False, "not_in_plan")
    settle()
    assert quota_used(org_id=org.pk) == 0


def test_key_scopes_name_a_product_or_an_operations_scope(catalog, upstream, org, make_key, deliver):
    def status(raw, path):
        return call("GET", path, raw)[0].status_code

    _, whole = make_key(org, scopes=["product:catalog"])
    _, one = make_key(org, scopes=["users_me"])
    _, elsewhere = make_key(org, scopes=["product:demo", "sms_send"])
    assert (status(whole, "/v1/catalog/users/me"), status(whole, "/v1/catalog/users/1")) == (200, 200)
    assert (status(one, "/v1/catalog/users/me"), status(one, "/v1/catalog/users/1")) == (200, 403)
    assert (status(elsewhere, "/v1/catalog/users/me"), status(elsewhere, "/v1/catalog/users/1")) == (403, 403)
    _, body = call("GET", "/v1/catalog/users/1", one)
    assert slug_of(body) == "scope" and (body["operation"], body["required_scope"]) == ("user_get", "user_get")
    # An operator groups operations under one scope: keys holding it may call both.
    for operation_id in ("user_get", "user_keys"):
        deliver(
            operation_update, operation=catalog.operations.get(operation_id=operation_id), required_scope="users:read"
        )
    _, reader = make_key(org, scopes=["users:read"])
    assert (status(reader, "/v1/catalog/users/1"), status(reader, "/v1/catalog/users/1/keys")) == (200, 200)
    assert status(reader, "/v1/catalog/users/me") == 403
    assert status(whole, "/v1/catalog/users/1/keys") == 200  # the product scope still covers it
