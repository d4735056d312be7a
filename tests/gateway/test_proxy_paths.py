"""The proxied path never leaves the upstream's base path and never injects a query or fragment.

Checked through Django's ASGI handler as a server calls it — with the raw, still-encoded path
(``raw_path``) and without it (servers that give only the decoded path) — and through a real
granian server. The upstream is a real HTTP server on loopback that records the request-target
it got.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from django.conf import settings
from django.db import connection

from keys.services import api_key_create
from plans.models import Plan
from plans.services import plans_seed_demo
from tests.factories import subscribe
from tests.gateway.upstream import RecordingUpstream, proxy_call
from usage.entitlements import entitlements_publish
from usage.limiter import quota_used

SECRET = "path-tests-identity-secret-" + "z" * 40
ROOT = Path(__file__).resolve().parents[2]

# Each tries to leave /api/ or to smuggle a query or fragment in through the path.
ESCAPES = [
    "/v1/proxy/../internal",
    "/v1/proxy/a/../../internal",
    "/v1/proxy/%2e%2e/internal",
    "/v1/proxy/%2E%2e/internal",
    "/v1/proxy/a/%2E%2e/",
    "/v1/proxy/.%2e/internal",
    "/v1/proxy/%2e/internal",
    "/v1/proxy/a%2f..%2f..%2finternal",
    "/v1/proxy/a%2F..",
    "/v1/proxy/x%3Fadmin=1",
    "/v1/proxy/x%3fadmin=1",
    "/v1/proxy/x%23frag",
    "/v1/proxy/%252e%252e/internal",
    "/v1/proxy/%25252e%25252e/internal",
    "/v1/proxy/a%252fb",
    "/v1/proxy/x%253Fadmin=1",
    "/v1/proxy/..%5cinternal",
    "/v1/proxy/%5c..%5cinternal",
    "/v1/proxy/..\\internal",
    "/v1/proxy/..;/internal",
    "/v1/proxy/x%00.json",
]
# Legitimate paths and what the upstream must receive, byte for byte.
FORWARDED = [
    ("/v1/proxy/things/42?x=1", "/api/things/42?x=1"),
    ("/v1/proxy/things/", "/api/things/"),
    ("/v1/proxy/files/caf%C3%A9%20menu.v2..txt?q=a%26b&q=2", "/api/files/caf%C3%A9%20menu.v2..txt?q=a%26b&q=2"),
    ("/v1/proxy/a..b/.well-known/c?next=/x?y#", "/api/a..b/.well-known/c?next=/x?y"),
    ("/v1/proxy/100%25", "/api/100%25"),
]


def escaped(target: str) -> bool:
    """Did a request-target the upstream received leave /api/ or carry a smuggled query?"""
    parts = urlsplit(target)
    path = parts.path
    for _ in range(4):  # however often an upstream decodes it
        segments = path.split("/")
        if segments[:2] != ["", "api"] or any(s in (".", "..") or "\\" in s for s in segments):
            return True
        path = unquote(path)
    return "admin=1" in parts.query or "frag" in parts.query


@pytest.fixture(scope="module")
def upstream():
    server = RecordingUpstream(secret=SECRET).start()
    yield server
    server.stop()


# --- through Django's ASGI handler ---------------------------------------------------------------
@pytest.fixture
def proxied(settings, upstream, roomy):
    settings.GATEWAY_UPSTREAM_URL = upstream.url + "/api"
    settings.GATEWAY_IDENTITY_SECRET = SECRET
    upstream.received.clear()
    return upstream


@pytest.mark.parametrize("raw_path", [True, False], ids=["raw-path", "decoded-only"])
@pytest.mark.parametrize("path", ESCAPES)
def test_a_path_that_would_leave_the_base_path_is_refused_with_a_problem(proxied, org, live_key, path, raw_path):
    _, raw = live_key
    response, content = proxy_call("GET", path, raw_path=raw_path, x_api_key=raw)
    assert not any(escaped(r.target) for r in proxied.received), [r.target for r in proxied.received]
    assert response.status_code == 400, (path, content)
    assert response["Content-Type"] == "application/problem+json"
    assert json.loads(content)["type"].endswith("#invalid-proxy-path")
    assert proxied.received == [] and quota_used(org_id=org.pk) == 0  # refused before it counted


@pytest.mark.parametrize("raw_path", [True, False], ids=["raw-path", "decoded-only"])
@pytest.mark.parametrize("path, target", FORWARDED)
def test_a_legitimate_path_and_query_reach_the_upstream_unchanged(proxied, live_key, path, target, raw_path):
    _, raw = live_key
    response, content = proxy_call("GET", path, raw_path=raw_path, x_api_key=raw)
    assert response.status_code == 200, content
    assert proxied.last().target == target


def test_an_encoded_slash_is_refused_when_the_server_shows_it_and_stays_inside_otherwise(proxied, live_key):
    _, raw = live_key
    response, content = proxy_call("GET", "/v1/proxy/a%2Fb", x_api_key=raw)
    assert response.status_code == 400 and json.loads(content)["type"].endswith("#invalid-proxy-path")
    assert proxied.received == []
    # A server that decodes the path before Django sees it turns %2F into "/": one more level, inside /api/.
    response, _ = proxy_call("GET", "/v1/proxy/a%2Fb", raw_path=False, x_api_key=raw)
    assert response.status_code == 200 and proxied.last().target == "/api/a/b"


def test_the_query_comes_only_from_the_real_query_string(proxied, live_key):
    _, raw = live_key
    response, _ = proxy_call("POST", "/v1/proxy/orders?dry_run=1&tag=a%3Fb", body=b'{"a": 1}', x_api_key=raw)
    assert response.status_code == 200
    got = proxied.last()
    assert got.method == "POST" and got.target == "/api/orders?dry_run=1&tag=a%3Fb" and got.body == b'{"a": 1}'


# --- through a real ASGI server (raw, still-encoded path) ----------------------------------------
@pytest.fixture(scope="module")
def granian(upstream, django_db_setup, django_db_blocker):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "GATEWAY_UPSTREAM_URL": upstream.url + "/api",
        "GATEWAY_IDENTITY_SECRET": SECRET,
    }
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "granian"),
            "--interface",
            "asginl",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--log-level",
            "warning",
            "portal.asgi:application",
        ],
        cwd=ROOT,
        env=env,
    )
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                break
        except OSError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("granian did not start")
    yield port
    proc.terminate()
    proc.wait(timeout=20)


def _raw_get(port: int, target: str, key: str) -> tuple[int, str, bytes]:
    """GET with the request-target sent byte for byte (http.client does not normalise it)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.putrequest("GET", target, skip_accept_encoding=True)
    conn.putheader("X-API-Key", key)
    conn.endheaders()
    response = conn.getresponse()
    return response.status, response.getheader("Content-Type", ""), response.read()


@pytest.fixture
def served_key(org):
    plans_seed_demo()
    subscribe(org, Plan.objects.get(code="enterprise"))
    entitlements_publish(org_id=org.pk)
    return api_key_create(org=org, name="k", mode="live")[1]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_through_a_real_server_no_encoding_trick_escapes_and_legitimate_paths_pass(granian, upstream, served_key):
    upstream.received.clear()
    for path in ESCAPES:
        status, content_type, body = _raw_get(granian, path, served_key)
        assert status == 400 and content_type == "application/problem+json", (path, status, body)
    assert upstream.received == [], [r.target for r in upstream.received]
    for path, target in [*FORWARDED, ("/v1/proxy/a%2Fb", None)]:
        status, _, body = _raw_get(granian, path.split("#")[0], served_key)
        if target is None:  # an encoded slash is refused when the server shows it to us
            assert status == 400, (path, body)
            continue
        assert status == 200, (path, body)
        assert upstream.last().target == target
        assert upstream.last().identity is not None
