"""Against a real multi-process ASGI server (granian, 2 workers), as production runs it."""

from __future__ import annotations

import http.client
import threading
import time
from pathlib import Path

import pytest

from keys.services import api_key_create, api_key_revoke
from plans.models import Plan
from products.catalogue import CHECK_INTERVAL_S
from products.demo import demo_product_seed
from tests.factories import PlanFactory, subscribe
from tests.servers import portal_start, stop
from usage.entitlements import entitlements_publish

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


PORT = 0  # set by the server fixture (a free port)
PATH = "/v1/demo/deliveries/trk_0123456789abcdef01234567"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker):
    global PORT
    proc, PORT = portal_start(workers=2)
    yield proc
    stop(proc)


def seed_and_wait(upstream_url: str) -> None:
    """The demo product, committed; then the 2 s in which every server worker picks it up."""
    demo_product_seed(upstream_url=upstream_url)
    time.sleep(CHECK_INTERVAL_S * 2 + 0.1)


def call(raw, conn=None):
    conn = conn or http.client.HTTPConnection("127.0.0.1", PORT, timeout=5)
    conn.request("GET", PATH, headers={"Authorization": f"Bearer {raw}"})
    response = conn.getresponse()
    response.read()
    return response.status


def test_revoked_key_is_refused_by_every_process_within_one_second(server, org, demo_upstream_url):
    seed_and_wait(demo_upstream_url)
    subscribe(org, Plan.objects.get(code="enterprise"))
    entitlements_publish(org_id=org.pk)
    key, raw = api_key_create(org=org, name="k", mode="live")
    # Warm the key in both workers (new connections are spread over the workers).
    assert {call(raw) for _ in range(40)} == {200}
    api_key_revoke(key=key)  # autocommit: on_commit runs now
    # Not "eventually": every request from the very first one after the revoke is refused,
    # by both workers, although both still hold the key record in memory.
    statuses = [call(raw) for _ in range(40)]
    assert set(statuses) == {401}


def test_exactly_the_limit_is_admitted_across_processes(server, org, demo_upstream_url):
    seed_and_wait(demo_upstream_url)
    subscribe(org, PlanFactory(rate_per_minute=100, monthly_quota=None))
    entitlements_publish(org_id=org.pk)
    _, raw = api_key_create(org=org, name="k", mode="live")
    now = int(time.time())
    if now % 60 > 50:
        time.sleep(61 - now % 60)
    results = []
    barrier = threading.Barrier(64)

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)
        barrier.wait()
        for _ in range(3):
            results.append(call(raw, conn))

    threads = [threading.Thread(target=client) for _ in range(64)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(200) == 100
    assert results.count(429) == 64 * 3 - 100


def test_rotated_out_key_is_refused_by_every_process_when_the_overlap_ends(server, org, demo_upstream_url):
    from datetime import timedelta

    from keys.services import api_key_rotate

    seed_and_wait(demo_upstream_url)
    subscribe(org, Plan.objects.get(code="enterprise"))
    entitlements_publish(org_id=org.pk)
    key, raw = api_key_create(org=org, name="k", mode="live")
    assert {call(raw) for _ in range(20)} == {200}
    _, new_raw = api_key_rotate(key=key, overlap=timedelta(seconds=3))
    rotated = time.monotonic()
    assert {call(raw) for _ in range(10)} == {200}  # still inside the overlap
    time.sleep(max(3.05 - (time.monotonic() - rotated), 0))
    statuses = [call(raw) for _ in range(20)]
    assert set(statuses) == {401}, statuses
    assert {call(new_raw) for _ in range(20)} == {200}


def test_revocation_reaches_processes_holding_admission_leases_within_one_second(server, org, demo_upstream_url):
    """Unlimited plan: each worker admits from a local lease with no Redis round trip, yet a
    revoked key is refused by every worker within LIMITER_LEASE_SECONDS (0.5 s)."""
    seed_and_wait(demo_upstream_url)
    subscribe(org, PlanFactory(monthly_quota=None, overage_policy="bill"))
    entitlements_publish(org_id=org.pk)
    key, raw = api_key_create(org=org, name="k", mode="live")
    assert {call(raw) for _ in range(60)} == {200}
    api_key_revoke(key=key)
    revoked = time.monotonic()
    last_admitted = 0.0
    while time.monotonic() - revoked < 1.2:
        if call(raw) == 200:
            last_admitted = time.monotonic() - revoked
    assert last_admitted < 1.0, f"revoked key still admitted {last_admitted:.2f} s after the revoke"
    assert {call(raw) for _ in range(40)} == {401}
