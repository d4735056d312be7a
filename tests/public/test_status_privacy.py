"""The public status page says which component is down, never why (hosts, ports, users)."""

from __future__ import annotations

import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from public import status
from public.models import ProbeResult

pytestmark = pytest.mark.django_db


class Failing(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(500)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def internal_health_url():
    """A real health endpoint on loopback that answers 500, at an "internal" address."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Failing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/internal/health"
    server.shutdown()
    server.server_close()


def test_a_failing_component_is_shown_down_without_its_cause_which_goes_to_the_log(
    client, settings, internal_health_url, caplog
):
    settings.STATUS_API_PROBE_URL = internal_health_url
    port = internal_health_url.split(":")[2].split("/")[0]
    # What a database failure stores: the driver's message, with host, port and user.
    leaked = 'OperationalError: connection to server at "10.20.30.40", port 6543 failed: FATAL: role "tollgate_rw"'
    with caplog.at_level(logging.WARNING, logger="public.status"):
        status.status_probe_run()
    ProbeResult.objects.filter(component="database").update(ok=False, detail=leaked)

    data = client.get("/status.json")
    by_code = {c["code"]: c for c in data.json()["components"]}
    assert by_code["api"]["status"] == "outage" and by_code["database"]["status"] == "outage"
    page = client.get("/status/").content.decode()
    for public in (data.content.decode(), page):
        for secret in (
            "127.0.0.1",
            f":{port}",
            "/internal/health",
            "10.20.30.40",
            "port 6543",
            "tollgate_rw",
            "OperationalError",
        ):
            assert secret not in public, secret
    assert by_code["api"]["detail"] == by_code["database"]["detail"] == "down"
    # The operator still learns why: the log line and the stored probe result keep the cause.
    assert internal_health_url in caplog.text
    assert internal_health_url in ProbeResult.objects.get(component="api").detail
