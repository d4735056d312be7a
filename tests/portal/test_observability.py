"""Sentry and OpenTelemetry switches against real local collectors: a process started with
SENTRY_DSN reports an error without the key, token or cookie it saw; one started with
OTEL_EXPORTER_OTLP_ENDPOINT exports its request spans over OTLP/HTTP (protobuf)."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

ROOT = Path(__file__).resolve().parents[2]
KEY = "tg_live_AbCd1234" + "s3cr3t" * 4
TOKEN = "tgp_WxYz9876" + "t0k3n" * 5
SESSION = "sessionsecret0123456789"


class Collector:
    """A real HTTP server on a free loopback port that keeps every POST (path, decoded body)."""

    def __init__(self):
        self.posts: list[tuple[str, bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                encoding = self.headers.get("Content-Encoding", "")
                if encoding == "gzip":
                    body = gzip.decompress(body)
                elif encoding == "deflate":
                    body = zlib.decompress(body)
                outer.posts.append((self.path, body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def collector():
    server = Collector()
    yield server
    server.close()


def run_django(script: str, env: dict[str, str]) -> None:
    """``script`` in a fresh process whose settings read ``env`` at import (on this test database)."""
    db = connection.settings_dict
    full_env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        **env,
    }
    prelude = "import django; django.setup()\nfrom django.test import Client\n"
    done = subprocess.run(
        [sys.executable, "-c", prelude + script], cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.mark.django_db
def test_sentry_receives_the_error_without_key_token_cookie_or_query(collector):
    run_django(
        "from django.conf import settings\n"
        "settings.ROOT_URLCONF = 'tests.portal.urls_observability'\n"
        "client = Client(raise_request_exception=False)\n"
        f"response = client.get('/obs-boom/?api_key={KEY}', headers={{'X-Api-Key': '{KEY}', "
        f"'Authorization': 'Bearer {TOKEN}', 'Cookie': 'sessionid={SESSION}'}})\n"
        "assert response.status_code == 500, response.status_code\n"
        "import sentry_sdk; sentry_sdk.flush(10)\n",
        {"SENTRY_DSN": f"http://public@127.0.0.1:{collector.port}/1"},
    )
    envelopes = [body for path, body in collector.posts if path == "/api/1/envelope/"]
    events = [body for body in envelopes if b'"type":"event"' in body]
    assert events, collector.posts
    sent = b"".join(envelopes)
    assert b"RuntimeError" in sent and b"upstream refused tg_live_AbCd1234" in sent
    for secret in (KEY[16:], TOKEN[12:], SESSION, "Bearer"):
        at = sent.find(secret.encode())
        assert at < 0, (secret, sent[max(0, at - 300) : at + 50])
    assert b'"query_string"' not in sent and b'"headers"' not in sent and b'"cookies"' not in sent


@pytest.mark.django_db
def test_traces_are_exported_over_otlp_http_for_a_request(collector):
    run_django(
        "response = Client().get('/healthz?token=abc123')\n"
        "assert response.status_code == 200\n"
        "from opentelemetry import trace; assert trace.get_tracer_provider().force_flush(10000)\n",
        {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{collector.port}"},
    )
    bodies = [body for path, body in collector.posts if path == "/v1/traces"]
    assert bodies, collector.posts
    exported = ExportTraceServiceRequest.FromString(bodies[0])
    [resource] = exported.resource_spans
    service = {a.key: a.value.string_value for a in resource.resource.attributes}["service.name"]
    spans = [span for scope in resource.scope_spans for span in scope.spans]
    assert service == "tollgate"
    assert any("healthz" in span.name for span in spans), [span.name for span in spans]
    assert b"abc123" not in bodies[0]
