from __future__ import annotations

import time

from keys.cache import dead_key
from plans.models import Subscription
from portal.redis import redis_client
from tests.factories import PlanFactory, subscribe
from tests.gateway.conftest import TRACKING, race_admissions, settle
from usage import leases, limiter
from usage.entitlements import entitlements_key, entitlements_publish
from usage.ingest.consumer import IngestConsumer
from usage.limiter import quota_used

PATH = f"/v1/demo/deliveries/{TRACKING}"


def away_from_minute_boundary():
    """Fixed windows: a test asserting one window's count must not straddle two minutes."""
    now = redis_client().time()[0]
    if now % 60 > 55:
        time.sleep(61 - now % 60)


def on_plan(org, **limits):
    if limits.get("rate_per_minute"):
        away_from_minute_boundary()
    plan = PlanFactory(**limits)
    Subscription.objects.filter(organization=org).update(status="canceled")
    subscribe(org, plan)
    entitlements_publish(org_id=org.pk)
    return plan


def test_per_minute_limit_refuses_with_ietf_headers_and_problem(api, org, live_key):
    on_plan(org, rate_per_minute=3, monthly_quota=None)
    _, raw = live_key
    for _ in range(3):
        ok = api.get(PATH, raw)
        assert ok.status_code == 200
    assert '"minute";q=3;w=60' in ok["RateLimit-Policy"]
    assert '"minute";r=0;' in ok["RateLimit"]
    refused = api.get(PATH, raw)
    assert refused.status_code == 429
    assert refused["Content-Type"] == "application/problem+json"
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused["RateLimit-Policy"] == ok["RateLimit-Policy"]
    body = refused.json()
    assert body["limit"] == "minute" and body["limit_value"] == 3
    assert body["retry_after"] == int(refused["Retry-After"])
    assert body["upgrade_url"].endswith("/pricing/")
    assert body["reset_at"].endswith("Z")


def test_refused_requests_consume_no_quota(api, org, live_key):
    on_plan(org, rate_per_minute=2, monthly_quota=100)
    _, raw = live_key
    codes = [api.get(PATH, raw).status_code for _ in range(6)]
    assert codes == [200, 200, 429, 429, 429, 429]
    assert quota_used(org_id=org.pk) == 2


def test_per_second_limit(api, org, live_key):
    on_plan(org, rate_per_second=1, monthly_quota=None)
    _, raw = live_key
    first, second = api.get(PATH, raw), api.get(PATH, raw)
    if second.status_code == 200:  # crossed a second boundary between the two calls: try again
        second = api.get(PATH, raw)
    assert first.status_code == 200
    assert second.status_code == 429
    assert second.json()["limit"] == "second"


def test_monthly_quota_hard_stop(api, org, live_key):
    on_plan(org, monthly_quota=2)
    _, raw = live_key
    assert [api.get(PATH, raw).status_code for _ in range(3)] == [200, 200, 429]
    refused = api.get(PATH, raw)
    assert refused.json()["limit"] == "month"
    assert refused.json()["title"] == "Monthly quota exceeded"
    assert quota_used(org_id=org.pk) == 2


def test_overage_billed_plan_serves_over_quota(api, org, live_key):
    on_plan(org, monthly_quota=2, overage_policy="bill")
    _, raw = live_key
    responses = [api.get(PATH, raw) for _ in range(4)]
    assert [r.status_code for r in responses] == [200] * 4
    assert "X-Usage-Overage" not in responses[1]
    assert responses[2]["X-Usage-Overage"] == "true"
    settle()
    assert quota_used(org_id=org.pk) == 4


def test_grace_percentage_then_stop(api, org, live_key):
    on_plan(org, monthly_quota=4, overage_policy="grace", grace_percent=50)
    _, raw = live_key
    assert [api.get(PATH, raw).status_code for _ in range(7)] == [200] * 6 + [429]


def test_plan_change_applies_on_next_request(api, org, live_key):
    on_plan(org, rate_per_minute=1, monthly_quota=None)
    _, raw = live_key
    assert api.get(PATH, raw).status_code == 200
    assert api.get(PATH, raw).status_code == 429
    on_plan(org, rate_per_minute=10, monthly_quota=None)  # e.g. billing confirmed an upgrade
    assert api.get(PATH, raw).status_code == 200


def test_org_without_subscription_is_on_free(api, org, live_key):
    _, raw = live_key
    response = api.get(PATH, raw)
    assert response.status_code == 200
    assert '"month";q=1000;' in response["RateLimit-Policy"]
    assert '"second";q=2;w=1' in response["RateLimit-Policy"]


def test_counters_are_per_organization(api, org, other_org, live_key, make_key):
    on_plan(org, rate_per_minute=1, monthly_quota=None)
    on_plan(other_org, rate_per_minute=1, monthly_quota=None)
    _, raw = live_key
    _, other_raw = make_key(other_org)
    assert api.get(PATH, raw).status_code == 200
    assert api.get(PATH, raw).status_code == 429
    assert api.get(PATH, other_raw).status_code == 200


def test_concurrent_admissions_are_exact(org, live_key):
    """64 threads race for a 100/min limit: exactly 100 win (the script is atomic)."""
    on_plan(org, rate_per_minute=100, monthly_quota=None)
    key, _ = live_key
    admitted = race_admissions(org_id=org.pk, key_id=key.pk, each=4)
    # A minute boundary inside this test would open a new window; it takes well under a second.
    assert admitted == 100


def test_script_reloads_after_noscript(org, live_key, redis_client):
    key, _ = live_key
    redis_client.script_flush()
    assert limiter.admit(org_id=org.pk, key_id=key.pk).admitted


def test_keys_carry_org_hash_tag():
    assert entitlements_key(42).startswith("{org:42}:")
    assert limiter.window_key(42).startswith("{org:42}:")
    assert limiter.quota_key(42).startswith("{org:42}:")
    assert dead_key(42, 7).startswith("{org:42}:")
    assert limiter.idempotency_key(42, 7, "abc").startswith("{org:42}:")


def test_a_quota_counter_lost_with_redis_data_is_rebuilt_from_postgresql(api, org, live_key, redis_client):
    on_plan(org, monthly_quota=10)
    _, raw = live_key
    assert [api.get(PATH, raw).status_code for _ in range(4)] == [200] * 4
    settle()
    IngestConsumer(redis_client, name="test").drain(seconds=5)  # the 4 events reach PostgreSQL
    redis_client.flushdb()  # Redis restarts without its data: counters, entitlements, stream
    codes = [api.get(PATH, raw).status_code for _ in range(8)]
    assert codes == [200] * 6 + [429] * 2
    assert quota_used(org_id=org.pk) == 10


def test_an_ended_lease_refund_never_recreates_a_lost_quota_counter(org, live_key, redis_client):
    on_plan(org, monthly_quota=None, overage_policy="bill")
    _key, _ = live_key
    pstart = redis_client.hget(entitlements_key(org.pk), "pstart").decode()
    redis_client.delete(limiter.quota_key(org.pk))
    redis_client.eval(leases.REFUND_SCRIPT, 2, limiter.window_key(org.pk), limiter.quota_key(org.pk), 5, 0, 0, pstart)
    assert redis_client.hexists(limiter.quota_key(org.pk), pstart) is False
