"""Admission leases: no Redis round trip far from the limits, still exact near them."""

from __future__ import annotations

import time

from keys.cache import key_kill
from tests.gateway.conftest import race_admissions, settle
from tests.gateway.test_limits import away_from_minute_boundary, on_plan
from usage import limiter
from usage.limiter import quota_key, quota_used


def counted(redis_client, org) -> int:
    return sum(int(v) for v in redis_client.hvals(quota_key(org.pk)))


def test_far_from_limits_admissions_are_reserved_then_refunded_exactly(org, live_key, redis_client, settings):
    on_plan(org, monthly_quota=None)
    key, _ = live_key
    decisions = [limiter.admit(org_id=org.pk, key_id=key.pk) for _ in range(10)]
    assert all(d.admitted for d in decisions)
    assert decisions[0].leased == settings.LIMITER_LEASE_MAX
    assert counted(redis_client, org) == 1 + settings.LIMITER_LEASE_MAX  # reserved up front: never under-counted
    settle()
    assert counted(redis_client, org) == 10 == quota_used(org_id=org.pk)


def test_no_lease_near_a_limit(org, live_key, settings):
    on_plan(org, monthly_quota=settings.LIMITER_LEASE_FLOOR + 5)
    key, _ = live_key
    assert limiter.admit(org_id=org.pk, key_id=key.pk).leased == 4  # room above the floor only
    settle()
    on_plan(org, monthly_quota=settings.LIMITER_LEASE_FLOOR)
    assert limiter.admit(org_id=org.pk, key_id=key.pk).leased == 0


def test_leases_keep_limits_exact_under_concurrency(org, live_key, settings):
    """64 threads race for 1,100/min: leases while far, the script near the limit, exactly 1,100 win."""
    away_from_minute_boundary()
    on_plan(org, rate_per_minute=1_100, monthly_quota=None)
    key, _ = live_key
    admitted = race_admissions(org_id=org.pk, key_id=key.pk, each=20)
    assert admitted == 1_100
    settle()
    assert quota_used(org_id=org.pk) == 1_100


def test_revocation_by_another_process_ends_leases_within_a_second(org, live_key, settings):
    on_plan(org, monthly_quota=None)
    key, _ = live_key
    assert limiter.admit(org_id=org.pk, key_id=key.pk).leased > 0
    key_kill(org_id=org.pk, key_id=key.pk)  # what api_key_revoke does in another process
    killed = time.monotonic()
    while limiter.admit(org_id=org.pk, key_id=key.pk).admitted:
        assert time.monotonic() - killed < 1.0, "a revoked key was still admitted after 1 s"
        time.sleep(0.01)
    assert time.monotonic() - killed <= settings.LIMITER_LEASE_SECONDS + 0.1


def test_leases_can_be_switched_off(org, live_key, redis_client, settings):
    settings.LIMITER_LEASE_MAX = 0
    on_plan(org, monthly_quota=None)
    key, _ = live_key
    for _ in range(3):
        assert limiter.admit(org_id=org.pk, key_id=key.pk).leased == 0
    assert counted(redis_client, org) == 3
