from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from plans.models import Plan
from plans.selectors import current_period, entitlements_for_org
from plans.services import plans_seed_demo
from tests.factories import subscribe
from usage.entitlements import entitlements_key, entitlements_publish, plan_entitlements_refresh


@pytest.fixture(autouse=True)
def seeded(db):
    plans_seed_demo()


def test_seed_creates_the_seed_documents_plans_and_operations():
    assert {p.code: p.monthly_quota for p in Plan.objects.all()} == {
        "free": 1_000,
        "payg": None,
        "pro": 50_000,
        "enterprise": None,
    }
    pro = Plan.objects.get(code="pro")
    assert pro.prices.get(currency="NGN").amount_minor == 1_500_000
    plans_seed_demo()  # idempotent
    assert Plan.objects.count() == 4


def test_org_without_subscription_gets_free_and_calendar_month(org):
    now = datetime(2026, 2, 14, 12, tzinfo=UTC)
    ent = entitlements_for_org(org_id=org.pk, now=now)
    assert ent["plan"] == "free" and ent["quota"] == 1_000 and ent["rps"] == 2 and ent["rpm"] == 60
    assert ent["pstart"] == int(datetime(2026, 2, 1, tzinfo=UTC).timestamp())
    assert ent["pend"] == int(datetime(2026, 3, 1, tzinfo=UTC).timestamp())


def test_subscription_period_rolls_forward_when_not_renewed_yet(org):
    start = datetime(2026, 1, 31, tzinfo=UTC)
    subscribe(
        org,
        Plan.objects.get(code="pro"),
        current_period_start=start,
        current_period_end=datetime(2026, 2, 28, tzinfo=UTC),
    )
    assert current_period(org_id=org.pk, now=datetime(2026, 2, 10, tzinfo=UTC)) == (
        start,
        datetime(2026, 2, 28, tzinfo=UTC),
    )
    period = current_period(org_id=org.pk, now=datetime(2026, 3, 5, tzinfo=UTC))
    assert period == (datetime(2026, 2, 28, tzinfo=UTC), datetime(2026, 3, 31, tzinfo=UTC))


def test_publish_writes_limits_for_the_hot_path(org, redis_client):
    subscribe(org, Plan.objects.get(code="pro"))
    entitlements_publish(org_id=org.pk)
    stored = {k.decode(): v.decode() for k, v in redis_client.hgetall(entitlements_key(org.pk)).items()}
    assert stored["plan"] == "pro" and stored["quota"] == "50000" and stored["rps"] == "20" and stored["rpm"] == "1200"
    assert stored["policy"] == "bill"
    assert int(stored["pend"]) > timezone.now().timestamp()
    assert redis_client.ttl(entitlements_key(org.pk)) > 0


def test_unlimited_fields_are_left_out(org, redis_client):
    subscribe(org, Plan.objects.get(code="payg"))
    entitlements_publish(org_id=org.pk)
    assert redis_client.hget(entitlements_key(org.pk), "quota") is None


def test_plan_edit_drops_published_copies_of_that_plan_only(org, other_org, redis_client):
    subscribe(org, Plan.objects.get(code="pro"), current_period_end=timezone.now() + timedelta(days=20))
    entitlements_publish(org_id=org.pk)
    entitlements_publish(org_id=other_org.pk)  # free
    assert plan_entitlements_refresh(plan=Plan.objects.get(code="pro")) == 1
    assert not redis_client.exists(entitlements_key(org.pk))
    assert redis_client.exists(entitlements_key(other_org.pk))


def test_admin_pages_load(admin_client):
    for url in [
        "/admin/plans/plan/",
        "/admin/plans/plan/add/",
        "/admin/plans/subscription/",
        "/admin/keys/apikey/",
        "/admin/plans/meterprice/",
    ]:
        assert admin_client.get(url).status_code == 200, url
