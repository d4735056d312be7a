"""A proxied call never leaves the upstream's base path and never injects a query or fragment.

The product ``files`` (base path /v1/files, upstream ``<RecordingUpstream>/api``) has operations
with path parameters; every escape attempt is carried in a parameter (or makes the whole path
unroutable). Checked through Django's ASGI handler as a server calls it — with the raw,
still-encoded path (``raw_path``) and without it (servers that give only the decoded path) — and
through a real granian server. The upstream is a real HTTP server on loopback that records the
request-target it got.
"""

from __future__ import annotations

import http.client
import json
from urllib.parse import unquote, urlsplit

import pytest
from django.conf import settings

from tests.gateway.catalogue_kit import product_make, stream_events
from tests.gateway.upstream import RecordingUpstream, proxy_call
from tests.servers import portal_start, stop

OPERATIONS = [
    ("GET", "/things/", "things_list"),
    ("GET", "/things/{name}", "thing_get"),
    ("GET", "/things/{name}/{child}", "thing_child_get"),
    ("GET", "/files/{name}", "file_get"),
    ("GET", "/files/{dir}/.well-known/{name}", "well_known_get"),
    ("POST", "/orders", "order_create"),
]
REFUSED = {"invalid-proxy-path", "no-route"}  # a bad parameter / a path the router will not route

# Each tries to leave /api/ or to smuggle a query or fragment in through the path.
ESCAPES = [
    "/v1/files/things/../internal",
    "/v1/files/things/a/../../internal",
    "/v1/files/things/%2e%2e/internal",
    "/v1/files/things/%2E%2e/internal",
    "/v1/files/things/a/%2E%2e",
    "/v1/files/things/.%2e/internal",
    "/v1/files/things/%2e/internal",
    "/v1/files/things/a%2f..%2f..%2finternal",
    "/v1/files/things/a%2F..",
    "/v1/files/things/x%3Fadmin=1",
    "/v1/files/things/x%3fadmin=1",
    "/v1/files/things/x%23frag",
    "/v1/files/things/%252e%252e/internal",
    "/v1/files/things/%25252e%25252e/internal",
    "/v1/files/things/a%252fb",
    "/v1/files/things/x%253Fadmin=1",
    "/v1/files/things/..%5cinternal",
    "/v1/files/things/%5c..%5cinternal",
    "/v1/files/things/..\\internal",
    "/v1/files/things/..;/internal",
    "/v1/files/things/x%00.json",
    "/v1/files/files/%2e%2e/.well-known/x",
    "/v1/files/files/a%2F..%2F../.well-known/x%3Fadmin=1",
]
# Escapes that only a parameter check can catch (each segment routes): 400 invalid-proxy-path.
PARAMETER_ESCAPES = [
    "/v1/files/things/a%2f..%2f..%2finternal",
    "/v1/files/things/x%3Fadmin=1",
    "/v1/files/things/x%23frag",
    "/v1/files/things/%252e%252e/internal",
    "/v1/files/things/a%252fb",
    "/v1/files/things/..%5cinternal",
    "/v1/files/things/..;/internal",
    "/v1/files/things/x%00.json",
]
# Legitimate paths and what the upstream must receive, byte for byte.
FORWARDED = [
    ("/v1/files/things/42?x=1", "/api/things/42?x=1"),
    ("/v1/files/things/", "/api/things/"),
    ("/v1/files/th%69ngs/42", "/api/things/42"),  # literal segments come from the template
    ("/v1/files/files/caf%C3%A9%20menu.v2..txt?q=a%26b&q=2", "/api/files/caf%C3%A9%20menu.v2..txt?q=a%26b&q=2"),
    ("/v1/files/files/a..b/.well-known/c?next=/x?y#", "/api/files/a..b/.well-known/c?next=/x?y"),
    ("/v1/files/things/100%25", "/api/things/100%25"),
]


def escaped(target: str) -> bool:
    """Did a request-target the upstream received leave /api/ or carry a smuggled query?"""
    parts = urlsplit(target)
    path = parts.path
    for _ in range(4):  # however often an upstream decodes it
        segments = path.split("/")
        if segments[:2] != ["", "api"] or any(s in (".", "..") or "\\" in s or "\x00" in s for s in segments):
            return True
        path = unquote(path)
    return "admin=1" in parts.query or "frag" in parts.query


@pytest.fixture(scope="module")
def upstream():
    server = RecordingUpstream(secret=settings.GATEWAY_IDENTITY_SECRET).start()
    yield server
    server.stop()


@pytest.fixture
def files(upstream, roomy):
    product = product_make(slug="files", upstream_url=upstream.url + "/api", operations=OPERATIONS)
    upstream.received.clear()
    return product


# --- through Django's ASGI handler ---------------------------------------------------------------
@pytest.mark.parametrize("raw_path", [True, False], ids=["raw-path", "decoded-only"])
@pytest.mark.parametrize("path", ESCAPES)
def test_a_path_that_would_leave_the_base_path_is_refused_with_a_problem(
    files, upstream, live_key, redis_client, path, raw_path
):
    _, raw = live_key
    response, content = proxy_call("GET", path, raw_path=raw_path, x_api_key=raw)
    assert not any(escaped(r.target) for r in upstream.received), [r.target for r in upstream.received]
    assert upstream.received == []
    assert response["Content-Type"] == "application/problem+json", (path, content)
    body = json.loads(content)
    assert body["type"].rsplit("#", 1)[1] in REFUSED and response.status_code in (400, 404), (path, body)
    # Refused calls never cost units (an admitted invalid one counts as a request of 0 units).
    assert all(event.units == 0 for event in stream_events(redis_client))


@pytest.mark.parametrize("path", PARAMETER_ESCAPES)
def test_an_escaping_parameter_is_refused_by_the_parameter_check(files, upstream, live_key, path):
    _, raw = live_key
    response, content = proxy_call("GET", path, x_api_key=raw)
    assert response.status_code == 400, (path, content)
    assert json.loads(content)["type"].endswith("#invalid-proxy-path")
    assert response["X-Usage-Units"] == "0" and upstream.received == []


@pytest.mark.parametrize("raw_path", [True, False], ids=["raw-path", "decoded-only"])
@pytest.mark.parametrize("path, target", FORWARDED)
def test_a_legitimate_path_and_query_reach_the_upstream_unchanged(files, upstream, live_key, path, target, raw_path):
    _, raw = live_key
    response, content = proxy_call("GET", path, raw_path=raw_path, x_api_key=raw)
    assert response.status_code == 200, content
    assert upstream.last().target == target and len(upstream.received) == 1


def test_an_encoded_slash_is_refused_when_the_server_shows_it_and_stays_inside_otherwise(files, upstream, live_key):
    _, raw = live_key
    response, content = proxy_call("GET", "/v1/files/things/a%2Fb", x_api_key=raw)
    assert response.status_code == 400 and json.loads(content)["type"].endswith("#invalid-proxy-path")
    assert upstream.received == []
    # A server that decodes the path before Django sees it turns %2F into "/": one more segment,
    # which routes to /things/{name}/{child} — still inside /api/.
    response, _ = proxy_call("GET", "/v1/files/things/a%2Fb", raw_path=False, x_api_key=raw)
    assert response.status_code == 200 and upstream.last().target == "/api/things/a/b"


def test_the_query_comes_only_from_the_real_query_string(files, upstream, live_key):
    _, raw = live_key
    response, _ = proxy_call("POST", "/v1/files/orders?dry_run=1&tag=a%3Fb", body=b'{"a": 1}', x_api_key=raw)
    assert response.status_code == 200
    got = upstream.last()
    assert got.method == "POST" and got.target == "/api/orders?dry_run=1&tag=a%3Fb" and got.body == b'{"a": 1}'


# --- through a real ASGI server (raw, still-encoded path) ----------------------------------------
@pytest.fixture
def portal_server(files):
    """The portal served by granian on the test database (started after the product exists)."""
    proc, port = portal_start(workers=1)
    yield port
    stop(proc)


def _raw_get(port: int, target: str, key: str) -> tuple[int, str, bytes]:
    """GET with the request-target sent byte for byte (http.client does not normalise it)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.putrequest("GET", target, skip_accept_encoding=True)
    conn.putheader("X-API-Key", key)
    conn.endheaders()
    response = conn.getresponse()
    return response.status, response.getheader("Content-Type", ""), response.read()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_through_a_real_server_no_encoding_trick_escapes_and_legitimate_paths_pass(portal_server, upstream, live_key):
    _, raw = live_key
    for path in ESCAPES:
        status, content_type, body = _raw_get(portal_server, path, raw)
        assert status in (400, 404) and content_type == "application/problem+json", (path, status, body)
        assert json.loads(body)["type"].rsplit("#", 1)[1] in REFUSED, (path, body)
    for path in PARAMETER_ESCAPES:
        status, _, body = _raw_get(portal_server, path, raw)
        assert status == 400 and json.loads(body)["type"].endswith("#invalid-proxy-path"), (path, body)
    assert upstream.received == [], [r.target for r in upstream.received]
    for path, target in [*FORWARDED, ("/v1/files/things/a%2Fb", None)]:
        status, _, body = _raw_get(portal_server, path.split("#")[0], raw)
        if target is None:  # an encoded slash is refused when the server shows it to us
            assert status == 400 and json.loads(body)["type"].endswith("#invalid-proxy-path"), (path, body)
            continue
        assert status == 200, (path, body)
        assert upstream.last().target == target
        assert upstream.last().identity is not None
