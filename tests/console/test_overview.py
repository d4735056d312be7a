"""The operator overview: revenue from billing, usage from the rollups, staff only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from accounts.models import Organization
from billing.selectors import revenue_overview
from plans.models import Interval, Plan, Price, Subscription
from tests.factories import OrganizationFactory, UserFactory
from tests.usage.conftest import ingest, make_event


@pytest.fixture
def free_plan(db):
    return Plan.objects.update_or_create(code="free", defaults={"name": "Free", "monthly_quota": 100})[0]


@pytest.fixture
def two_orgs_usage(db, redis_client, org, other_org, free_plan):
    ingest(
        redis_client,
        [make_event(org.pk, request_id=f"mine{i}", key="tg_live_mine", operation="sms_send") for i in range(7)],
    )
    ingest(
        redis_client,
        [
            make_event(other_org.pk, request_id=f"theirs{i}", key="tg_live_them", operation="secret_op", units=100)
            for i in range(5)
        ],
    )
    return org, other_org


def _subscribe(org, plan, price, status="active"):
    now = datetime.now(UTC)
    return Subscription.objects.create(
        organization=org,
        plan=plan,
        price=price,
        status=status,
        currency=price.currency,
        current_period_start=now - timedelta(days=3),
        current_period_end=now + timedelta(days=27),
    )


def test_mrr_and_revenue_mix_per_tier(db, free_plan):
    pro = Plan.objects.create(code="pro", name="Pro", sort_order=1, monthly_quota=100_000)
    ent = Plan.objects.create(code="enterprise", name="Enterprise", sort_order=2)
    pro_ngn = Price.objects.create(plan=pro, currency="NGN", amount_minor=1_000_000)  # ₦10,000 / month
    ent_year = Price.objects.create(
        plan=ent, currency="NGN", interval=Interval.YEAR, amount_minor=60_000_000
    )  # ₦600,000 / year
    for _ in range(3):
        _subscribe(OrganizationFactory(), pro, pro_ngn)
    _subscribe(OrganizationFactory(), pro, pro_ngn, status="past_due")
    _subscribe(OrganizationFactory(), pro, pro_ngn, status="trialing")  # a customer, not revenue yet
    _subscribe(OrganizationFactory(), ent, ent_year)
    _subscribe(OrganizationFactory(), pro, pro_ngn, status="canceled")  # back on Free
    OrganizationFactory.create_batch(2)

    overview = revenue_overview()
    tiers = {row["plan"].code: row for row in overview["tiers"]}
    assert overview["mrr"] == {"NGN": 4 * 1_000_000 + 5_000_000}
    assert tiers["pro"]["customers"] == 5
    assert tiers["pro"]["revenue"] == [{"currency": "NGN", "amount_minor": 4_000_000, "percent": 44.4}]
    assert tiers["enterprise"]["revenue"] == [{"currency": "NGN", "amount_minor": 5_000_000, "percent": 55.6}]
    assert tiers["free"]["customers"] == 3  # the canceled one and the two without subscription
    assert overview["customers"] == Organization.objects.count()


def test_operator_overview_is_staff_only(member_client, client, two_orgs_usage):
    assert member_client.get("/usage/operator/").status_code == 302  # to the admin login
    staff = UserFactory(is_staff=True)
    client.force_login(staff)
    html = client.get("/usage/operator/").content.decode()
    assert "Revenue mix per tier" in html and "secret_op" in html  # operators see everyone
    assert reverse("console:overview") == "/usage/operator/"
    assert '<a href="/usage/operator/" aria-current="page">Operator</a>' in html  # the nav marks the console
    assert '<a href="/usage/" aria-current="page">' not in html
