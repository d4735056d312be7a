"""/pricing/ is generated from the plans, prices and meter prices in the database."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from accounts.models import Membership, Role
from billing.models import Checkout
from plans.models import Plan, Price

pytestmark = pytest.mark.django_db


def test_pricing_shows_every_public_plan_with_its_price_quota_and_limits(client, demo_plans):
    html = client.get("/pricing/").content.decode()
    for name in ("Free", "Pay as you go", "Pro", "Enterprise"):
        assert f"<h2>{name}</h2>" in html
    assert 'data-testid="price-pro">₦15,000<' in html
    assert "50,000</strong> requests / month" in html
    assert "Up to 20 req/s, 1,200 req/min" in html
    assert "Custom" in html and "Contact sales" in html
    assert "Most popular" in html


def test_currency_switcher_changes_every_price(client, demo_plans):
    html = client.get("/pricing/?currency=USD").content.decode()
    assert 'data-testid="price-pro">$10<' in html
    assert "$0.004" in html and "₦" not in re.sub(r"<nav.*?</nav>", "", html.split('class="plan-grid"')[1], flags=re.S)
    assert 'aria-current="true" data-currency="USD"' in html


def test_unknown_currency_falls_back_to_the_default(client, demo_plans):
    html = client.get("/pricing/?currency=XYZ").content.decode()
    assert 'data-testid="price-pro">₦15,000<' in html


def test_unit_price_table_lists_each_meter_with_included_units(client, demo_plans):
    html = client.get("/pricing/").content.decode()
    assert "SMS sent" in html and "Delivery status checks" in html and "AI tokens generated" in html
    assert "first 1,000 included" in html


def test_operator_edits_show_up_and_private_plans_do_not(client, demo_plans, other_org):
    Price.objects.filter(plan__code="pro", currency="NGN").update(amount_minor=2_000_000)
    Plan.objects.create(code="acme-custom", name="Acme custom", is_public=False, organization=other_org)
    html = client.get("/pricing/").content.decode()
    assert "₦20,000" in html and "Acme custom" not in html


def test_signed_out_upgrade_signs_up_first_and_comes_back_to_the_plan(client, demo_plans):
    html = client.get("/pricing/?currency=USD").content.decode()
    assert 'href="/accounts/signup/?next=%2Fpricing%2F%3Fcurrency%3DUSD%23plan-pro"' in html


def test_signed_in_upgrade_goes_to_checkout_and_marks_the_current_plan(member_client, demo_plans):
    html = member_client.get("/pricing/?currency=NGN").content.decode()
    action = reverse("billing:checkout")
    form = re.search(r'<form method="post" action="' + re.escape(action) + r'".*?</form>', html, re.S).group(0)
    assert 'name="plan" value="payg"' in form or 'name="plan" value="pro"' in form
    assert 'name="csrfmiddlewaretoken"' in form
    assert "Your current plan" in html  # an org without a subscription is on Free


def test_billing_role_may_upgrade_but_developers_are_told_to_ask(client, user, org, demo_plans):
    Membership.objects.filter(organization=org, user=user).update(role=Role.DEVELOPER)
    client.force_login(user)
    session = client.session
    session["active_org_id"] = org.pk
    session.save()
    html = client.get("/pricing/").content.decode()
    assert "Ask an owner to upgrade" in html and "Upgrade to Pro" not in html


def test_upgrade_button_starts_a_real_checkout(member_client, org, demo_plans):
    """The pricing page's form, submitted as a browser would, reaches billing's hosted checkout."""
    html = member_client.get("/pricing/?currency=NGN").content.decode()
    form = re.search(
        r'<form method="post" action="([^"]+)" class="plan-cta-form">(.*?)</form>', html.split('id="plan-pro"')[1], re.S
    )
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form.group(2)))
    assert fields["plan"] == "pro"
    response = member_client.post(form.group(1), fields)
    assert response.status_code == 302
    assert "/sandbox/checkout/" in response["Location"] or "checkout" in response["Location"]

    checkout = Checkout.objects.get(organization=org)
    assert checkout.plan.code == "pro" and checkout.amount_minor == 1_500_000 and checkout.currency == "NGN"
