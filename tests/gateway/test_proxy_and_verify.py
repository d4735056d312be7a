from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient

from keys.services import api_key_revoke
from tests.gateway.test_limits import on_plan
from usage.events import STREAM_KEY, unpack
from usage.limiter import quota_used
from usage.recorder import recorder


class Echo(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}}).encode()
        self.send_response(404 if "/missing" in self.path else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.send_header("X-Upstream", "yes")
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def upstream():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)  # a free port
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def proxied(settings, upstream, roomy):
    settings.GATEWAY_UPSTREAM_URL = upstream + "/api"


def fetch_streamed(path, **headers):
    """Call the async proxy view and read its streamed body on the same event loop."""

    async def run():
        response = await AsyncClient().get(path, headers=headers)
        return response, b"".join([chunk async for chunk in response.streaming_content])

    return async_to_sync(run)()


def test_proxy_forwards_strips_credentials_and_meters(proxied, org, live_key, redis_client):
    key, raw = live_key
    response, content = fetch_streamed(
        "/v1/proxy/things/42?x=1",
        authorization=f"Bearer {raw}",
        x_trace="t1",
        x_hop="private",
        connection="keep-alive, X-Hop",
    )
    assert response.status_code == 200
    body = json.loads(content)
    assert body["path"] == "/api/things/42?x=1"
    sent = body["headers"]
    assert "authorization" not in sent and "x-api-key" not in sent and "x-hop" not in sent
    assert sent["x-trace"] == "t1" and sent["x-tollgate-org"] == str(org.pk) and sent["x-tollgate-plan"] == "enterprise"
    assert response["X-Upstream"] == "yes" and response["X-Usage-Units"] == "1"
    assert "Connection" not in response and response["X-Request-Id"] == sent["x-request-id"]
    recorder.flush_all()
    [entry] = redis_client.xrange(STREAM_KEY)
    [event] = unpack(entry[1][b"b"])
    assert event.operation_id == "upstream_proxy" and event.status == 200 and event.api_key_id == key.pk


def test_proxy_requires_a_key_and_scope(client, proxied, org, make_key):
    assert client.get("/v1/proxy/things").status_code == 401
    _, raw = make_key(org, scopes=["sms_send"])
    assert client.get("/v1/proxy/things", HTTP_X_API_KEY=raw).status_code == 403


def test_upstream_errors_are_not_charged_units(client, proxied, live_key):
    _, raw = live_key
    response = client.get("/v1/proxy/missing", HTTP_X_API_KEY=raw)
    assert response.status_code == 404 and response["X-Usage-Units"] == "0"


def test_unreachable_upstream_is_a_502_problem(client, settings, roomy, live_key):
    settings.GATEWAY_UPSTREAM_URL = "http://127.0.0.1:1"
    _, raw = live_key
    response = client.get("/v1/proxy/x", HTTP_X_API_KEY=raw)
    assert response.status_code == 502 and response["Content-Type"] == "application/problem+json"


# --- POST /v1/keys/verify ---------------------------------------------------------------------
@pytest.fixture
def operator(settings):
    settings.GATEWAY_VERIFY_TOKEN = "op-secret-token"
    return {"HTTP_AUTHORIZATION": "Bearer op-secret-token"}


def verify(client, headers, **data):
    return client.post("/v1/keys/verify", json.dumps(data), content_type="application/json", **headers)


def test_verify_charges_the_call(client, operator, org, live_key, redis_client):
    key, raw = live_key
    response = verify(client, operator, key=raw, operation_id="ai_completion_create", units=321)
    assert response.status_code == 200
    body = response.json()
    assert body == {
        "valid": True,
        "code": "ok",
        "org_id": org.pk,
        "key_id": key.pk,
        "mode": "live",
        "scopes": [],
        "plan": "free",
        "units": 321,
        "retry_after": None,
    }
    assert quota_used(org_id=org.pk) == 1
    recorder.flush_all()
    [entry] = redis_client.xrange(STREAM_KEY)
    assert unpack(entry[1][b"b"])[0].units == 321


def test_verify_without_charge_counts_nothing(client, operator, org, live_key):
    _, raw = live_key
    assert verify(client, operator, key=raw, operation_id="sms_send", charge=False).json()["valid"] is True
    assert quota_used(org_id=org.pk) == 0


def test_verify_reports_invalid_scope_and_limits(client, operator, org, make_key, django_capture_on_commit_callbacks):
    on_plan(org, rate_per_minute=1, monthly_quota=None)
    key, raw = make_key(org, scopes=["sms_send"])
    assert verify(client, operator, key="tg_live_" + "n" * 32, operation_id="sms_send").json()["code"] == "invalid_key"
    assert verify(client, operator, key=raw, operation_id="delivery_status_get").json()["code"] == "forbidden_scope"
    assert verify(client, operator, key=raw, operation_id="sms_send").json()["valid"] is True
    limited = verify(client, operator, key=raw, operation_id="sms_send").json()
    assert limited["code"] == "rate_limited" and limited["retry_after"] >= 1
    with django_capture_on_commit_callbacks(execute=True):
        api_key_revoke(key=key)
    assert verify(client, operator, key=raw, operation_id="sms_send").json()["code"] == "invalid_key"


def test_verify_requires_the_operator_token(client, operator, live_key):
    _, raw = live_key
    assert verify(client, {}, key=raw, operation_id="sms_send").status_code == 401
    assert verify(client, {"HTTP_AUTHORIZATION": "Bearer wrong"}, key=raw, operation_id="sms_send").status_code == 401
    bad = verify(client, operator, key=raw, operation_id="nope")
    assert bad.status_code == 400 and "operation_id" in bad.json()["errors"]
