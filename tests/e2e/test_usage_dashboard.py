"""The usage dashboard in real Chromium: charts draw from the usage API under the strict CSP."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import expect

from tests.factories import MembershipFactory, OrganizationFactory, UserFactory
from tests.usage.conftest import admit, ingest, make_event


def _sign_in(page, live_server, user, org):
    client = Client()
    client.force_login(user)
    session = client.session
    session["active_org_id"] = org.pk
    session.save()
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": session.session_key, "url": live_server.url}]
    )


@pytest.fixture
def plan(transactional_db):
    from plans.models import Plan

    return Plan.objects.update_or_create(code="free", defaults={"name": "Free", "monthly_quota": 1000})[0]


def test_dashboard_draws_charts_for_the_orgs_requests(page, live_server, artifacts_dir, redis_client, plan):
    plan.monthly_quota = 1000
    plan.save()
    user = UserFactory()
    org = OrganizationFactory(owner=user, name="Acme Logistics")
    now = datetime.now(UTC)
    rng = random.Random(4)
    events = []
    for i in range(850):
        key = rng.choice(["tg_live_9f3a", "tg_live_9f3a", "tg_live_c21b", "tg_test_77de"])
        events.append(
            make_event(
                org.pk,
                at=now - timedelta(minutes=rng.randint(0, 23 * 60)),
                key=key,
                operation=rng.choice(["sms_send", "sms_send", "delivery_status", "ai_complete"]),
                status=rng.choice([200] * 30 + [201, 404, 429, 500]),
                latency_ms=rng.lognormvariate(3.3, 0.6),
                request_id=f"r{i}",
                mode=key[3:7],
            )
        )
    admit(org.pk, len(events))  # the hot path counted every one of them (before they were stored)
    ingest(redis_client, events)
    from usage.services import usage_alerts_check

    usage_alerts_check(org_id=org.pk)
    console_errors = []
    page.on("console", lambda msg: console_errors.append(msg.text) if msg.type == "error" else None)
    _sign_in(page, live_server, user, org)
    page.goto(f"{live_server.url}/usage/")
    expect(page.locator("#usage-status")).to_contain_text("850 requests")
    assert page.locator("#usage-breakdown tbody tr").count() == 3
    page.screenshot(path=str(artifacts_dir / "usage-dashboard.png"), full_page=True)
    page.select_option("select[name=group_by]", "operation")
    expect(page.locator("#breakdown-label")).to_have_text("Endpoint")
    page.click("button[data-window='7d']")
    page.wait_for_timeout(300)
    assert not [e for e in console_errors if "Content Security Policy" in e], console_errors
    # 850 of 1,000 requests used: the 80 % alert shows.
    assert "80% of this period" in page.content()


def test_dashboard_empty_state_and_operator_page(page, live_server, artifacts_dir, plan):
    user = UserFactory()
    org = OrganizationFactory(owner=user, name="Brand New Co")
    _sign_in(page, live_server, user, org)
    page.goto(f"{live_server.url}/usage/")
    assert page.is_visible("#usage-empty")
    page.screenshot(path=str(artifacts_dir / "usage-empty.png"), full_page=True)

    staff = UserFactory(is_staff=True)
    MembershipFactory(organization=org, user=staff)
    _sign_in(page, live_server, staff, org)
    page.goto(f"{live_server.url}/usage/operator/")
    assert page.is_visible("text=Revenue mix per tier")
    page.screenshot(path=str(artifacts_dir / "usage-operator.png"), full_page=True)
