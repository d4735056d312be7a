"""Paystack subscription events carry no id: each state change must still apply once."""

from __future__ import annotations

import pytest

from billing.models import EventStatus, ProviderEvent
from plans.models import Subscription, SubscriptionStatus
from sandbox import store
from tests.conftest import checkout_path, sandbox_webhooks

pytestmark = pytest.mark.django_db


def _cancel_in_paystack_portal(client, deliver, code):
    """The customer cancels on Paystack's own manage page: only the webhook tells us."""
    response = deliver(client.post, f"/sandbox/portal/paystack/{code}/", {"action": "cancel"})
    assert response.status_code == 200


def test_cancel_resume_cancel_through_signed_webhooks_applies_each_cancel(ngn_client, ngn_org, deliver):
    deliver(
        ngn_client.post,
        checkout_path(ngn_client.post("/billing/checkout/", {"plan": "pro"})),
        {"card_number": "4242424242424242"},
    )
    sub = Subscription.objects.get(organization=ngn_org)
    code = sub.provider_subscription_id

    _cancel_in_paystack_portal(ngn_client, deliver, code)
    sub.refresh_from_db()
    assert sub.cancel_at_period_end and sub.status == SubscriptionStatus.ACTIVE

    deliver(ngn_client.post, "/billing/resume/")
    sub.refresh_from_db()
    assert not sub.cancel_at_period_end
    assert store.get("paystack", "subscription", code)["status"] == "active"

    _cancel_in_paystack_portal(ngn_client, deliver, code)
    sub.refresh_from_db()
    assert sub.cancel_at_period_end, "the second cancel after a resume was dropped as a duplicate"
    disables = ProviderEvent.objects.filter(event_type="subscription.disable").order_by("id")
    assert [e.status for e in disables] == [EventStatus.PROCESSED, EventStatus.PROCESSED]


def test_a_redelivered_subscription_event_is_still_a_duplicate(ngn_client, ngn_org, deliver):
    from django.test import Client

    deliver(
        ngn_client.post,
        checkout_path(ngn_client.post("/billing/checkout/", {"plan": "pro"})),
        {"card_number": "4242424242424242"},
    )
    code = Subscription.objects.get(organization=ngn_org).provider_subscription_id
    _cancel_in_paystack_portal(ngn_client, deliver, code)
    hook = next(h for h in sandbox_webhooks("paystack") if '"subscription.disable"' in h["body"])
    response = deliver(
        Client().post,
        hook["path"],
        data=hook["body"].encode(),
        content_type="application/json",
        headers=hook["headers"],
    )
    assert response.status_code == 200
    statuses = list(
        ProviderEvent.objects.filter(event_type="subscription.disable").order_by("id").values_list("status", flat=True)
    )
    assert statuses == [EventStatus.PROCESSED, EventStatus.DUPLICATE]
