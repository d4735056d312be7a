"""/metrics of a real granian server with 2 workers in multiprocess mode: the counts of both
workers add up, whichever worker answers the scrape."""

from __future__ import annotations

import http.client
import time

import pytest

from keys.services import api_key_create
from plans.models import Plan
from products.catalogue import CHECK_INTERVAL_S
from products.demo import demo_product_seed
from tests.factories import subscribe
from tests.metrics_scrape import TOKEN, parse, value
from tests.servers import portal_start, stop
from usage.entitlements import entitlements_publish

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PATH = "/v1/demo/deliveries/trk_0123456789abcdef01234567"
CALLS = "tollgate_gateway_request_duration_seconds_count"
OK = {"product": "demo", "operation": "delivery_status_get", "status": "200"}


@pytest.fixture
def server(tmp_path, django_db_setup, django_db_blocker):
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    proc, port = portal_start(workers=2, env={"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir), "METRICS_TOKEN": TOKEN})
    yield port, metrics_dir
    stop(proc)


def get(port: int, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)  # a new connection: any worker
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    return response.status, response.read()


def test_counts_of_both_workers_add_up(server, org, demo_upstream_url):
    port, metrics_dir = server
    demo_product_seed(upstream_url=demo_upstream_url)
    time.sleep(CHECK_INTERVAL_S * 2 + 0.1)  # every worker picks the product up
    subscribe(org, Plan.objects.get(code="enterprise"))
    entitlements_publish(org_id=org.pk)
    _, raw = api_key_create(org=org, name="k", mode="live")
    statuses = [get(port, PATH, {"Authorization": f"Bearer {raw}"})[0] for _ in range(60)]
    assert statuses == [200] * 60
    for _ in range(3):
        assert get(port, PATH, {"Authorization": "Bearer tg_live_" + "y" * 40})[0] == 401
    # Both workers served calls: each wrote its own histogram file.
    assert len(list(metrics_dir.glob("histogram_*.db"))) == 2
    for _ in range(6):  # whichever worker answers, it reports the sum of both
        status, body = get(port, "/metrics", {"Authorization": f"Bearer {TOKEN}"})
        assert status == 200
        samples = parse(body.decode())
        assert value(samples, CALLS, **OK) == 60
        assert value(samples, "tollgate_gateway_refusals_total", reason="invalid-credentials") == 3
        assert value(samples, "tollgate_health_source_up", source="usage") == 1
    assert get(port, "/metrics", {})[0] == 401
