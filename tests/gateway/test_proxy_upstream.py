"""The gateway and a real upstream on loopback: large bodies streamed both ways, slow, failing,
broken and oversized answers, and units counted from the request or reported by the upstream.
Every admitted call records exactly one usage event; failures cost 0 units."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

import httpx
import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from django.test import AsyncClient

from gateway.upstream import BodyTooLarge
from tests.gateway.catalogue_kit import product_make, stream_events
from tests.gateway.scripted_upstream import ScriptedUpstream, broken_body, chunked, json_answer, pattern, sized
from tests.gateway.upstream import proxy_call

MIB = 1024 * 1024
METER = {"meter": "edge.calls"}
OPERATIONS = [
    ("GET", "/big", "big_get"),
    ("GET", "/sized-big", "sized_big_get"),
    ("GET", "/slow", "slow_get"),
    ("GET", "/error", "error_get"),
    ("GET", "/stall", "stall_get"),
    ("GET", "/broken", "broken_get"),
    ("GET", "/broken-stream", "broken_stream_get"),
    ("GET", "/units-header", "units_header_get"),
    ("GET", "/units-none", "units_none_get"),
    ("POST", "/tokens", "tokens_create"),
    ("POST", "/tokens-error", "tokens_error_create"),
    ("POST", "/upload", "upload_create"),
    ("POST", "/messages", "messages_send"),
    ("POST", "/form", "form_send"),
]
REPORTED_BY_HEADER = {**METER, "unit_rule": "response_header", "unit_source": "Tollgate-Units", "max_units": 50}
REPORTED_IN_JSON = {**METER, "unit_rule": "response_json_field", "unit_source": "/usage/total_tokens"}
PRICING: dict[str, dict[str, Any]] = {
    "big_get": {**METER, "unit_rule": "fixed", "units_fixed": 1},
    "error_get": {**METER, "unit_rule": "fixed", "units_fixed": 5},
    "upload_create": {**METER, "unit_rule": "fixed", "units_fixed": 1},
    "units_header_get": REPORTED_BY_HEADER,
    "units_none_get": REPORTED_BY_HEADER,
    "tokens_create": REPORTED_IN_JSON,
    "tokens_error_create": REPORTED_IN_JSON,
    "messages_send": {**METER, "unit_rule": "request_json_array_length", "unit_source": "/to"},
    "form_send": {**METER, "unit_rule": "request_form_field_count", "unit_source": "To"},
}
SLOW_S, READ_TIMEOUT_S = 2.5, 1.0


@pytest.fixture(scope="module")
def upstream():
    server = ScriptedUpstream(secret=settings.GATEWAY_IDENTITY_SECRET).start()
    for path, answer in {
        "/big": chunked(MIB),
        "/sized-big": sized(200_000),
        "/slow": json_answer({"ok": True}, delay=SLOW_S),
        "/error": json_answer({"error": "upstream down"}, status=503),
        "/stall": broken_body(declared=1000, sent=10, stall=SLOW_S),
        "/broken": broken_body(declared=1000, sent=10),
        "/broken-stream": broken_body(declared=200_000, sent=70_000),
        "/units-header": json_answer({"ok": True}, headers=[("Tollgate-Units", "7")]),
        "/units-none": json_answer({"ok": True}),
        "/tokens": json_answer({"text": "hi", "usage": {"total_tokens": 42}}),
        "/tokens-error": json_answer({"usage": {"total_tokens": 42}}, status=500),
        "/huge": sized(300_000),
        "/huge-chunked": chunked(300_000),
    }.items():
        server.on("/api" + path, answer)
    yield server
    server.stop()


@pytest.fixture
def edge(upstream, roomy):
    upstream.received.clear()
    return product_make(
        slug="edge",
        upstream_url=upstream.url + "/api",
        operations=OPERATIONS,
        pricing=PRICING,
        read_timeout_s=READ_TIMEOUT_S,
    )


@pytest.fixture
def tight(upstream, roomy):
    upstream.received.clear()
    operations = [("GET", "/huge", "huge_get"), ("GET", "/huge-chunked", "huge_chunked_get"), ("POST", "/upload", "up")]
    return product_make(
        slug="tight",
        upstream_url=upstream.url + "/api",
        operations=operations,
        max_response_bytes=100_000,
        max_request_bytes=1000,
    )


def outcomes(redis_client) -> list[tuple[int, int]]:
    return [(event.status, event.units) for event in stream_events(redis_client)]


def read_streamed(path: str, raw: str) -> tuple:
    """GET through the ASGI handler and read the streamed body until it ends or breaks:
    (response, bytes received, the exception that broke it or None)."""

    async def run():
        response = await AsyncClient().get(path, headers={"X-API-Key": raw})
        received, error = b"", None
        try:
            async for chunk in response.streaming_content:  # type: ignore[attr-defined]
                received += chunk
        except Exception as exc:
            error = exc
        return response, received, error

    return async_to_sync(run)()


# --- large bodies --------------------------------------------------------------------------------
def test_a_large_chunked_answer_is_streamed_whole(edge, live_key, redis_client):
    _, raw = live_key
    response, content = proxy_call("GET", "/v1/edge/big", x_api_key=raw)
    assert response.status_code == 200 and response.streaming
    assert len(content) == MIB and content == pattern(MIB)
    assert response["X-Usage-Units"] == "1" and "Content-Length" not in response
    response, content = proxy_call("GET", "/v1/edge/sized-big", x_api_key=raw)
    assert response.streaming and response["Content-Length"] == "200000" and content == pattern(200_000)
    assert outcomes(redis_client) == [(200, 1), (200, 0)]


def test_a_large_request_body_reaches_the_upstream_byte_exact_with_its_length(edge, upstream, live_key):
    _, raw = live_key
    body = pattern(3 * MIB)
    response, content = proxy_call("POST", "/v1/edge/upload", body=body, x_api_key=raw)
    assert response.status_code == 200, content[:300]
    answer = json.loads(content)
    assert answer["body_length"] == len(body) and answer["body_sha256"] == hashlib.sha256(body).hexdigest()
    assert upstream.last().header("Content-Length") == [str(len(body))]


def test_a_body_over_the_products_request_limit_is_413_and_never_forwarded(tight, upstream, live_key, redis_client):
    _, raw = live_key
    response, content = proxy_call("POST", "/v1/tight/upload", body=b"x" * 1001, x_api_key=raw)
    assert response.status_code == 413 and json.loads(content)["max_bytes"] == 1000
    assert upstream.received == [] and outcomes(redis_client) == [(413, 0)]


# --- slow, failing, broken and oversized answers -------------------------------------------------
def test_an_upstream_slower_than_the_read_timeout_is_a_504(edge, live_key, redis_client):
    _, raw = live_key
    started = time.monotonic()
    response, content = proxy_call("GET", "/v1/edge/slow", x_api_key=raw)
    assert response.status_code == 504 and json.loads(content)["type"].endswith("#gateway-timeout")
    assert READ_TIMEOUT_S <= time.monotonic() - started < SLOW_S
    stalled, content = proxy_call("GET", "/v1/edge/stall", x_api_key=raw)
    assert stalled.status_code == 504 and json.loads(content)["type"].endswith("#gateway-timeout")
    assert outcomes(redis_client) == [(504, 0), (504, 0)]


def test_an_upstream_5xx_is_passed_through_and_charges_nothing(edge, live_key, redis_client):
    _, raw = live_key
    response, content = proxy_call("GET", "/v1/edge/error", x_api_key=raw)
    assert response.status_code == 503 and json.loads(content) == {"error": "upstream down"}
    assert response["X-Usage-Units"] == "0" and response["X-Usage-Meter"] == "edge.calls"
    assert outcomes(redis_client) == [(503, 0)]


def test_an_answer_broken_off_is_a_502_or_a_broken_transfer_never_a_truncated_success(edge, live_key, redis_client):
    _, raw = live_key
    response, content = proxy_call("GET", "/v1/edge/broken", x_api_key=raw)
    assert response.status_code == 502 and json.loads(content)["type"].endswith("#bad-gateway")
    assert outcomes(redis_client) == [(502, 0)]
    # Already streaming when it broke: the client's transfer breaks too.
    response, received, error = read_streamed("/v1/edge/broken-stream", raw)
    assert response.status_code == 200 and response.streaming
    assert isinstance(error, httpx.HTTPError) and len(received) < 200_000


def test_an_answer_over_the_products_response_limit_is_refused(tight, live_key, redis_client):
    _, raw = live_key
    response, content = proxy_call("GET", "/v1/tight/huge", x_api_key=raw)
    assert response.status_code == 502 and json.loads(content)["type"].endswith("#bad-gateway")
    assert "100,000 bytes" in json.loads(content)["detail"]
    assert outcomes(redis_client) == [(502, 0)]
    # No declared length: streamed until the limit, then cut (never silently truncated).
    response, received, error = read_streamed("/v1/tight/huge-chunked", raw)
    assert response.status_code == 200 and isinstance(error, BodyTooLarge)
    assert len(received) <= 100_000 and received == pattern(len(received))


# --- units ---------------------------------------------------------------------------------------
def test_units_reported_in_a_response_header(edge, live_key, redis_client):
    _, raw = live_key
    response, _ = proxy_call("GET", "/v1/edge/units-header", x_api_key=raw)
    assert response.status_code == 200 and response["X-Usage-Units"] == "7"
    unreported, _ = proxy_call("GET", "/v1/edge/units-none", x_api_key=raw)
    assert unreported["X-Usage-Units"] == "50"  # not reported: the reserved max_units, never free
    assert outcomes(redis_client) == [(200, 7), (200, 50)]


def test_units_reported_in_a_json_field_and_none_on_an_error(edge, live_key, redis_client):
    _, raw = live_key
    response, content = proxy_call("POST", "/v1/edge/tokens", body=b"{}", x_api_key=raw)
    assert response.status_code == 200 and response["X-Usage-Units"] == "42"
    assert json.loads(content)["usage"]["total_tokens"] == 42 and response["Content-Length"] == str(len(content))
    failed, _ = proxy_call("POST", "/v1/edge/tokens-error", body=b"{}", x_api_key=raw)
    assert failed.status_code == 500 and failed["X-Usage-Units"] == "0"
    assert outcomes(redis_client) == [(200, 42), (500, 0)]


def test_units_counted_from_a_json_array_in_the_request(edge, upstream, live_key, redis_client):
    _, raw = live_key
    body = json.dumps({"to": ["+2348012345678", "+2348098765432", "+14155550100"], "text": "hi"}).encode()
    response, _ = proxy_call("POST", "/v1/edge/messages", body=body, x_api_key=raw)
    assert response.status_code == 200 and response["X-Usage-Units"] == "3"
    assert upstream.last().body == body
    forwarded = len(upstream.received)
    uncountable, content = proxy_call("POST", "/v1/edge/messages", body=b'{"to": "+2348012345678"}', x_api_key=raw)
    assert uncountable.status_code == 400 and json.loads(content)["type"].endswith("#units-uncountable")
    wrong_type, content = proxy_call("POST", "/v1/edge/messages", body=body, content_type="text/plain", x_api_key=raw)
    assert wrong_type.status_code == 415 and json.loads(content)["type"].endswith("#unsupported-media-type")
    assert len(upstream.received) == forwarded  # refused ones never reach the upstream
    assert outcomes(redis_client) == [(200, 3), (400, 0), (415, 0)]


def test_units_counted_from_a_repeated_form_field(edge, upstream, live_key, redis_client):
    _, raw = live_key
    body = b"To=%2B2348012345678&Body=hello&To=%2B2348098765432&To=%2B14155550100&Tone=x"
    form = "application/x-www-form-urlencoded"
    response, _ = proxy_call("POST", "/v1/edge/form", body=body, content_type=form, x_api_key=raw)
    assert response.status_code == 200 and response["X-Usage-Units"] == "3"
    assert upstream.last().body == body and upstream.last().header("Content-Type") == [form]
    as_json, content = proxy_call("POST", "/v1/edge/form", body=b'{"To": ["a"]}', x_api_key=raw)
    assert as_json.status_code == 415 and json.loads(content)["type"].endswith("#unsupported-media-type")
    assert outcomes(redis_client) == [(200, 3), (415, 0)]
