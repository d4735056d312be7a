"""JSON logs from a real granian server (the ASGI fast lane and Django's path), read from its stderr."""

from __future__ import annotations

import http.client
import json
import subprocess
import time

import pytest

from keys.services import api_key_create
from plans.models import Plan
from products.catalogue import CHECK_INTERVAL_S
from products.demo import demo_product_seed
from tests.factories import subscribe
from tests.servers import portal_start, stop
from usage.entitlements import entitlements_publish

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
TRACKING = "trk_0123456789abcdef01234567"


def get(port: int, path: str, **headers) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    response.read()
    return response


def test_a_granian_server_writes_json_lines_with_request_ids_and_never_the_key(org, demo_upstream_url):
    demo_product_seed(upstream_url=demo_upstream_url)
    subscribe(org, Plan.objects.get(code="enterprise"))
    entitlements_publish(org_id=org.pk)
    key, raw = api_key_create(org=org, name="k", mode="live")
    proc, port = portal_start(env={"LOG_FORMAT": "json"}, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(CHECK_INTERVAL_S * 2 + 0.1)  # the server's catalogue picks the product up
        path = f"/v1/demo/deliveries/{TRACKING}"
        gateway = get(port, f"{path}?api_key={raw}", Authorization=f"Bearer {raw}", **{"X-Request-Id": "srv-1"})
        refused = get(port, path, Authorization=f"Bearer {raw[:-1]}x", **{"X-Request-Id": "srv-2"})
        page = get(port, "/pricing/", Cookie=f"sessionid=abc; tok={raw}")
    finally:
        stop(proc)
    assert proc.stderr is not None
    stderr = proc.stderr.read()
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    access = {line["request_id"]: line for line in lines if line["logger"] == "tollgate.access"}
    assert gateway.status == 200 and gateway.getheader("X-Request-Id") == "srv-1"
    assert access["srv-1"]["status"] == 200 and access["srv-1"]["path"] == path
    assert access["srv-1"]["org_id"] == org.pk and access["srv-1"]["key_prefix"] == key.prefix
    assert access["srv-1"]["operation_id"] and access["srv-1"]["latency_ms"] > 0
    assert refused.status == 401 and access["srv-2"]["status"] == 401
    page_id = page.getheader("X-Request-Id")
    assert page.status == 200 and access[page_id]["path"] == "/pricing/"
    assert raw not in stderr and raw[len(key.prefix) :] not in stderr
