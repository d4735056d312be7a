from __future__ import annotations

import threading

import pytest

from gateway.guard import blocks_clear
from keys.cache import local_cache_clear
from keys.services import api_key_create
from usage.recorder import recorder


@pytest.fixture(autouse=True)
def seeded(demo_product):
    local_cache_clear()
    blocks_clear()
    yield
    settle()
    local_cache_clear()
    blocks_clear()


def settle():
    """End this process's admission leases and flush: Redis counters are then exact."""
    from usage.leases import leases_release_all

    leases_release_all()
    recorder.flush()
    recorder.flush_all()


@pytest.fixture
def make_key(user):
    def make(org, **kwargs):
        kwargs.setdefault("name", "test key")
        kwargs.setdefault("mode", "live")
        key, raw = api_key_create(org=org, user=user, **kwargs)
        return key, raw

    return make


@pytest.fixture
def live_key(org, make_key):
    return make_key(org)


@pytest.fixture
def api(client):
    """Calls the gateway with a credential: api.get(path, key), api.post(path, key, json)."""

    class Api:
        def get(self, path, key=None, **headers):
            if key:
                headers.setdefault("HTTP_AUTHORIZATION", f"Bearer {key}")
            return client.get(path, **headers)

        def post(self, path, key=None, json=None, **headers):
            if key:
                headers.setdefault("HTTP_AUTHORIZATION", f"Bearer {key}")
            import json as _json

            return client.post(
                path, data=_json.dumps(json if json is not None else {}), content_type="application/json", **headers
            )

    return Api()


TRACKING = "trk_0123456789abcdef01234567"


@pytest.fixture
def roomy(org, seeded):
    """``org`` on the Enterprise plan (200/s), so tests about auth never meet a limit."""
    from plans.models import Plan
    from tests.factories import subscribe
    from usage.entitlements import entitlements_publish

    subscribe(org, Plan.objects.get(code="enterprise"))
    entitlements_publish(org_id=org.pk)


def race_admissions(*, org_id: int, key_id: int, threads: int = 64, each: int) -> int:
    """``threads`` threads released together, each asking ``each`` admissions; the count admitted."""
    from usage import limiter

    admitted: list[bool] = []
    barrier = threading.Barrier(threads)

    def client():
        barrier.wait()
        for _ in range(each):
            admitted.append(limiter.admit(org_id=org_id, key_id=key_id).admitted)

    workers = [threading.Thread(target=client) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(admitted)
