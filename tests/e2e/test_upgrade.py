"""Browser: log in → create a key → upgrade through the sandbox checkout → the dashboard shows Pro."""

from __future__ import annotations

import pytest
from django_redis import get_redis_connection

from keys.models import ApiKey
from plans.selectors import plan_for_org
from plans.services import plans_seed_demo
from tests.factories import OrganizationFactory, UserFactory
from usage.entitlements import entitlements_key

PASSWORD = "correct-horse-battery"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("currency,provider", [("USD", "stripe"), ("NGN", "paystack")])
def test_upgrade_through_sandbox_checkout(page, live_server, settings, artifacts_dir, currency, provider):
    settings.SITE_URL = live_server.url
    plans_seed_demo()
    user = UserFactory(email=f"buyer-{currency.lower()}@example.com")
    org = OrganizationFactory(owner=user, currency=currency, name=f"Acme {currency}")

    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/dashboard/")

    page.goto(f"{live_server.url}/keys/")
    page.fill("input[name=name]", "Production server")
    page.get_by_role("button", name="Create key").click()
    page.wait_for_selector("#new-key-secret")
    assert ApiKey.objects.filter(organization=org).count() == 1

    page.goto(f"{live_server.url}/billing/")
    page.screenshot(path=str(artifacts_dir / f"billing-overview-free-{provider}.png"), full_page=True)
    page.click("button[data-plan=pro]")
    page.wait_for_url(f"**/sandbox/checkout/{provider}/**")
    assert page.get_by_text("SANDBOX").first.is_visible()
    page.fill("input[name=card_number]", "4000 0000 0000 0002")
    page.click("#pay")
    assert page.get_by_text("declined").first.is_visible()
    page.fill("input[name=card_number]", "4242 4242 4242 4242")
    page.screenshot(path=str(artifacts_dir / f"sandbox-checkout-{provider}.png"), full_page=True)
    page.click("#pay")
    page.wait_for_url(f"{live_server.url}/dashboard/")
    page.wait_for_selector("#card-plan [data-testid=plan-name]")
    assert page.inner_text("#card-plan [data-testid=plan-name]") == "Pro"
    page.screenshot(path=str(artifacts_dir / f"dashboard-pro-{provider}.png"), full_page=True)

    assert plan_for_org(org_id=org.pk).code == "pro"
    # The key's limits changed at once: the hot path's entitlements now carry Pro's quota.
    entitlements = get_redis_connection("default").hgetall(entitlements_key(org.pk))
    assert entitlements[b"plan"] == b"pro" and entitlements[b"quota"] == b"50000"

    page.goto(f"{live_server.url}/billing/")
    assert page.get_by_text("Current plan").first.is_visible()
    page.screenshot(path=str(artifacts_dir / f"billing-overview-pro-{provider}.png"), full_page=True)
