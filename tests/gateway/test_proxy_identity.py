"""The upstream is told, signed, who is calling and whether the key is live or test; so is the
operator's backend that calls the verify API. The upstream checks the signature with the very
snippet docs/keys-and-limits.md gives operators (``RecordingUpstream``)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest

from tests.gateway.catalogue_kit import product_make
from tests.gateway.upstream import RecordingUpstream, proxy_call
from tests.portal.test_settings import _env, _load_settings, _production

SECRET = "upstream-shared-secret-" + "x" * 40
OPERATIONS = [("GET", "/things", "things_list"), ("GET", "/things/{id}", "thing_get")]


@pytest.fixture(scope="module")
def upstream():
    server = RecordingUpstream(secret=SECRET).start()
    yield server
    server.stop()


@pytest.fixture
def proxied(settings, upstream, roomy):
    settings.GATEWAY_IDENTITY_SECRET = SECRET
    product_make(slug="things", upstream_url=upstream.url + "/api", operations=OPERATIONS)
    upstream.received.clear()
    return upstream


def test_the_upstream_verifies_a_signed_identity_naming_org_key_mode_plan_product_operation_and_request(
    proxied, org, live_key
):
    key, raw = live_key
    response, content = proxy_call(
        "GET", "/v1/things/things/42", authorization=f"Bearer {raw}", x_request_id="req-abc.1"
    )
    assert response.status_code == 200, content
    identity = proxied.last().identity
    assert identity is not None, "the documented snippet did not verify the gateway's signature"
    assert {k: identity[k] for k in ("org", "key", "mode", "plan", "product", "op", "rid")} == {
        "org": str(org.pk),
        "key": str(key.pk),
        "mode": "live",
        "plan": "enterprise",
        "product": "things",
        "op": "thing_get",
        "rid": "req-abc.1",
    }
    assert abs(int(identity["ts"]) - time.time()) < 5
    assert json.loads(content)["identity"] == identity  # what the upstream answered is relayed


def test_a_test_key_and_a_token_minted_from_it_reach_the_upstream_marked_test(proxied, org, make_key, client):
    _, raw = make_key(org, mode="test")
    assert raw.startswith("tg_test_")
    response, _ = proxy_call("GET", "/v1/things/things", x_api_key=raw)
    assert response.status_code == 200
    assert proxied.last().identity["mode"] == "test"
    token = client.post("/v1/auth/token", HTTP_AUTHORIZATION=f"Bearer {raw}").json()["access_token"]
    response, _ = proxy_call("GET", "/v1/things/things", authorization=f"Bearer {token}")
    assert response.status_code == 200
    assert proxied.last().identity["mode"] == "test" and proxied.last().identity["op"] == "things_list"
    assert len(proxied.received) == 2


def test_identity_headers_sent_by_the_customer_never_reach_the_upstream(proxied, org, make_key):
    _, raw = make_key(org, mode="test")
    # A replayed, correctly signed "live" identity of another organization, plus loose claims.
    forged = f"org=999;key=1;mode=live;plan=enterprise;product=things;op=things_list;rid=x;ts={int(time.time())}"
    signature = "v1=" + hmac.new(SECRET.encode(), forged.encode(), hashlib.sha256).hexdigest()
    response, _ = proxy_call(
        "GET",
        "/v1/things/things",
        x_api_key=raw,
        tollgate_identity=forged,
        tollgate_signature=signature,
        x_tollgate_mode="live",
        x_tollgate_org="999",
        tollgate_mode="live",
    )
    assert response.status_code == 200
    got = proxied.last()
    assert len(got.header("Tollgate-Identity")) == 1 and len(got.header("Tollgate-Signature")) == 1
    assert got.header("Tollgate-Identity") != [forged]
    assert got.identity["mode"] == "test" and got.identity["org"] == str(org.pk)
    # Unsigned claims are not sent at all any more, and the customer's copies are dropped.
    assert got.header("X-Tollgate-Org") == [] and got.header("X-Tollgate-Mode") == []
    assert got.header("Tollgate-Mode") == []


def test_a_signature_is_only_good_with_the_deployment_secret(proxied, settings, live_key):
    settings.GATEWAY_IDENTITY_SECRET = "another-deployment-secret-" + "y" * 40
    _, raw = live_key
    response, _ = proxy_call("GET", "/v1/things/things", x_api_key=raw)
    assert len(proxied.received) == 1 and proxied.last().identity is None
    assert response.status_code == 401  # the upstream refused it, and its answer is relayed
    assert response["X-Usage-Units"] == "0"


# --- POST /v1/keys/verify ---------------------------------------------------------------------
@pytest.fixture
def operator(settings):
    settings.GATEWAY_VERIFY_TOKEN = "op-secret-token-" + "o" * 20
    return {"HTTP_AUTHORIZATION": f"Bearer {settings.GATEWAY_VERIFY_TOKEN}"}


def verify(client, headers, **data):
    return client.post(
        "/v1/keys/verify", json.dumps({"product": "demo", **data}), content_type="application/json", **headers
    )


def test_the_verify_answer_says_whether_the_key_is_live_or_test_and_its_scopes(client, operator, org, make_key):
    _, test_raw = make_key(org, mode="test", scopes=["sms_send"])
    _, live_raw = make_key(org, mode="live")
    _, product_raw = make_key(org, mode="live", scopes=["product:demo"])
    test_answer = verify(client, operator, key=test_raw, operation_id="sms_send", units=1).json()
    assert test_answer["valid"] is True and test_answer["mode"] == "test" and test_answer["scopes"] == ["sms_send"]
    live_answer = verify(client, operator, key=live_raw, operation_id="sms_send", units=1, charge=False).json()
    assert live_answer["mode"] == "live" and live_answer["scopes"] == []
    product_answer = verify(client, operator, key=product_raw, operation_id="delivery_status_get").json()
    assert product_answer["valid"] is True and product_answer["scopes"] == ["product:demo"]
    refused = verify(client, operator, key=test_raw, operation_id="delivery_status_get").json()
    assert refused["code"] == "forbidden_scope" and refused["valid"] is False and refused["mode"] == "test"
    unknown = verify(client, operator, key="tg_test_" + "n" * 32, operation_id="sms_send", units=1).json()
    assert unknown["code"] == "invalid_key" and unknown["mode"] is None and unknown["scopes"] is None


# --- GATEWAY_IDENTITY_SECRET ------------------------------------------------------------------
def test_production_refuses_to_start_without_an_identity_secret():
    result = _load_settings(_production(GATEWAY_IDENTITY_SECRET=""))
    assert result.returncode != 0 and "GATEWAY_IDENTITY_SECRET" in result.stderr
    result = _load_settings(_production(GATEWAY_IDENTITY_SECRET="s" * 40), "settings.GATEWAY_IDENTITY_SECRET")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "s" * 40
    short = _load_settings(_production(GATEWAY_IDENTITY_SECRET="short"))
    assert short.returncode != 0 and "GATEWAY_IDENTITY_SECRET" in short.stderr


def test_development_derives_an_identity_secret():
    result = _load_settings(_env(DEBUG="1", GATEWAY_IDENTITY_SECRET=""), "len(settings.GATEWAY_IDENTITY_SECRET)")
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) >= 32
