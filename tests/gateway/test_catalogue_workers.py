"""A catalogue change committed anywhere reaches every worker of a running server within 2 s.

The portal runs under granian with two worker processes on the test database; the upstream
tells which worker called it (the process owning the gateway's end of the connection), so the
test knows it has heard from both workers before and after the change."""

from __future__ import annotations

import http.client
import json
import os
import time

import pytest
from django.conf import settings
from django.db import transaction

from products.services import operation_update, product_update
from tests.gateway.catalogue_kit import product_make
from tests.gateway.scripted_upstream import ScriptedUpstream, json_answer
from tests.servers import portal_start, stop

WITHIN_S = 2.0


def socket_owner(local_port: int, remote_port: int) -> int | None:
    """The pid of the process holding the loopback TCP socket ``local_port`` → ``remote_port``."""
    inode = None
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as rows:
            for row in list(rows)[1:]:
                fields = row.split()
                local, remote = (int(address.rsplit(":", 1)[1], 16) for address in fields[1:3])
                if (local, remote) == (local_port, remote_port):
                    inode = fields[9]
    if inode is None:
        return None
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if any(os.readlink(f"/proc/{pid}/fd/{fd}") == f"socket:[{inode}]" for fd in os.listdir(f"/proc/{pid}/fd")):
                return int(pid)
        except OSError:
            continue
    return None


def whoami(handler, got):
    worker = socket_owner(handler.client_address[1], handler.server.server_address[1])
    json_answer({"worker": worker})(handler, got)


@pytest.fixture(scope="module")
def upstream():
    server = ScriptedUpstream(secret=settings.GATEWAY_IDENTITY_SECRET).start().on("/api/ping", whoami)
    yield server
    server.stop()


@pytest.fixture
def served(upstream, roomy):
    """The ``edge`` product, then the portal with two workers on the test database."""
    product = product_make(
        slug="edge",
        upstream_url=upstream.url + "/api",
        operations=[("GET", "/ping", "ping_get")],
        pricing={"ping_get": {"meter": "edge.calls", "unit_rule": "fixed", "units_fixed": 1}},
    )
    proc, port = portal_start(workers=2)
    yield product, port
    stop(proc)


def ping(port: int, key: str) -> tuple[int, str, int | None]:
    """One call on a fresh connection: (status, X-Usage-Units, the worker that served it)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/v1/edge/ping", headers={"X-API-Key": key})
        response = conn.getresponse()
        body = response.read()
        worker = json.loads(body)["worker"] if response.status == 200 else None
        return response.status, response.getheader("X-Usage-Units", ""), worker
    finally:
        conn.close()


def until_both_workers(port: int, key: str, *, deadline: float) -> list[tuple[int, str, int | None]]:
    """Call until two distinct workers have answered (or ``deadline``)."""
    calls = []
    while time.monotonic() < deadline:
        calls.append(ping(port, key))
        if len({worker for _, _, worker in calls if worker is not None}) >= 2:
            break
    return calls


def two_workers_answered(port: int, key: str) -> list[tuple[int, str, int | None]]:
    calls = until_both_workers(port, key, deadline=time.monotonic() + 30)
    assert len({worker for _, _, worker in calls if worker is not None}) == 2, "the second worker never answered"
    return calls


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_an_operation_change_reaches_every_worker_within_two_seconds(served, live_key):
    product, port = served
    _, raw = live_key
    before = two_workers_answered(port, raw)
    assert {(status, units) for status, units, _ in before} == {(200, "1")}

    with transaction.atomic():  # committed: the version bump is published on commit
        operation_update(operation=product.operations.get(operation_id="ping_get"), units_fixed=5)
    changed_at = time.monotonic()
    first_seen: dict[int, float] = {}
    while time.monotonic() < changed_at + WITHIN_S + 1 and len(first_seen) < 2:
        _, units, worker = ping(port, raw)
        if units == "5" and worker is not None:
            first_seen.setdefault(worker, time.monotonic() - changed_at)
    assert len(first_seen) == 2 and max(first_seen.values()) <= WITHIN_S, first_seen

    time.sleep(max(0.0, changed_at + WITHIN_S - time.monotonic()))
    after = two_workers_answered(port, raw) + [ping(port, raw) for _ in range(10)]
    assert {(status, units) for status, units, _ in after} == {(200, "5")}, after


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_access_taken_away_is_refused_by_every_worker_two_seconds_later_even_an_idle_one(served, live_key):
    product, port = served
    _, raw = live_key
    assert {(status, units) for status, units, _ in two_workers_answered(port, raw)} == {(200, "1")}
    time.sleep(1.5)  # both workers idle, snapshots checked a while ago
    with transaction.atomic():
        product_update(product=product, visibility="private", organizations=[])
    time.sleep(WITHIN_S)
    # Every call from now on is refused, the first one each worker gets included.
    calls = [ping(port, raw) for _ in range(20)]
    assert {status for status, _, _ in calls} == {404}, calls
