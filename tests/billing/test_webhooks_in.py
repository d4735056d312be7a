"""Webhook intake: bad signatures, duplicates (also racing), out-of-order, ignored types."""

from __future__ import annotations

import json
import threading
import time

import pytest
from django.db import connection
from django.test import Client

from billing.models import EventStatus, ProviderEvent, ProviderWebhookRejection
from plans.models import Subscription, SubscriptionStatus
from plans.selectors import plan_for_org
from sandbox.emit import paystack_signature, stripe_signature
from tests.conftest import checkout_path, sandbox_webhooks
from tests.factories import OrganizationFactory, UserFactory

STRIPE = "/billing/webhooks/stripe/"
PAYSTACK = "/billing/webhooks/paystack/"


def post(client, path, body, headers):
    return client.post(
        path, data=body.encode() if isinstance(body, str) else body, content_type="application/json", headers=headers
    )


def replay(client, hook):
    return post(client, hook["path"], hook["body"], hook["headers"])


def paid_stripe(client, deliver):
    deliver(
        client.post,
        checkout_path(client.post("/billing/checkout/", {"plan": "pro"})),
        {"card_number": "4242424242424242"},
    )


def paid_paystack(client, deliver):
    deliver(
        client.post,
        checkout_path(client.post("/billing/checkout/", {"plan": "pro"})),
        {"card_number": "4242424242424242"},
    )


# --- bad signatures -------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("header", ["", "t=1,v1=deadbeef", None])
def test_stripe_bad_signature_is_400_and_changes_nothing(client, header, plans):
    body = json.dumps({"id": "evt_x", "type": "checkout.session.completed", "data": {"object": {"id": "cs_x"}}})
    if header is None:  # right secret, stale timestamp (outside the 5-minute tolerance)
        header = stripe_signature(body, timestamp=int(time.time()) - 3600)
    response = post(client, STRIPE, body, {"Stripe-Signature": header})
    assert response.status_code == 400
    assert not ProviderEvent.objects.exists()  # unsigned bodies are never stored
    assert ProviderWebhookRejection.objects.get().count == 1


@pytest.mark.django_db
def test_stripe_wrong_secret_is_rejected(client, plans):
    body = json.dumps({"id": "evt_y", "type": "invoice.paid", "data": {"object": {}}})
    response = post(client, STRIPE, body, {"Stripe-Signature": stripe_signature(body, secret="whsec_other")})
    assert response.status_code == 400


@pytest.mark.django_db
def test_paystack_bad_signature_is_400(client, plans):
    body = json.dumps({"event": "charge.success", "data": {"reference": "abc"}})
    response = post(client, PAYSTACK, body, {"x-paystack-signature": paystack_signature(body, secret="sk_wrong")})
    assert response.status_code == 400
    assert post(client, PAYSTACK, body, {}).status_code == 400
    # Body altered after signing.
    response = post(client, PAYSTACK, body.replace("abc", "abd"), {"x-paystack-signature": paystack_signature(body)})
    assert response.status_code == 400
    assert not ProviderEvent.objects.exists()
    assert ProviderWebhookRejection.objects.get().count == 3


# --- duplicates -----------------------------------------------------------------------------
@pytest.mark.django_db
def test_stripe_duplicate_delivery_is_harmless(usd_client, usd_org, deliver):
    paid_stripe(usd_client, deliver)
    for hook in sandbox_webhooks("stripe"):
        response = deliver(replay, Client(), hook)
        assert response.status_code == 200
    assert ProviderEvent.objects.filter(status=EventStatus.DUPLICATE).count() == 3
    assert Subscription.objects.filter(organization=usd_org).count() == 1


@pytest.mark.django_db
def test_paystack_duplicate_delivery_is_harmless(ngn_client, ngn_org, deliver):
    paid_paystack(ngn_client, deliver)
    for hook in sandbox_webhooks("paystack"):
        assert deliver(replay, Client(), hook).status_code == 200
    assert ProviderEvent.objects.filter(status=EventStatus.DUPLICATE).count() == 2
    assert Subscription.objects.filter(organization=ngn_org).count() == 1


@pytest.mark.django_db
def test_ignored_type_is_200(client, plans):
    body = json.dumps({"id": "evt_ign", "type": "product.created", "data": {"object": {"id": "prod_1"}}})
    response = post(client, STRIPE, body, {"Stripe-Signature": stripe_signature(body)})
    assert response.status_code == 200 and ProviderEvent.objects.get().status == EventStatus.IGNORED
    body = json.dumps({"event": "subscription.expiring_cards", "data": []})
    assert post(client, PAYSTACK, body, {"x-paystack-signature": paystack_signature(body)}).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_two_racing_deliveries_apply_once(plans):
    """Two threads deliver the same signed event at once: one processes, one is a duplicate."""
    user = UserFactory()
    org = OrganizationFactory(owner=user, currency="USD")
    client = Client()
    client.force_login(user)
    session = client.session
    session["active_org_id"] = org.pk
    session.save()
    page = checkout_path(client.post("/billing/checkout/", {"plan": "pro"}))
    from sandbox import actions, store

    reference = page.rstrip("/").rsplit("/", 1)[1]
    # Pay in the sandbox without delivering: keep the signed webhooks to fire them concurrently.
    from django.test import override_settings

    with override_settings(BILLING_SANDBOX_WEBHOOK_DELIVERY="none"):
        actions.stripe_complete_checkout(reference, "4242424242424242")
    hook = next(h for h in sandbox_webhooks("stripe") if "checkout.session.completed" in h["body"])
    results, barrier = [], threading.Barrier(2)

    def fire():
        try:
            barrier.wait()
            results.append(replay(Client(), hook).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=fire) for _ in range(2)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sorted(results) == [200, 200]
    statuses = sorted(
        ProviderEvent.objects.filter(event_type="checkout.session.completed").values_list("status", flat=True)
    )
    assert statuses == [EventStatus.DUPLICATE, EventStatus.PROCESSED]
    assert Subscription.objects.filter(organization=org).count() == 1
    assert store.get("stripe", "checkout.session", reference)["status"] == "complete"


# --- out of order ---------------------------------------------------------------------------
@pytest.mark.django_db
def test_stripe_out_of_order_events_converge(usd_client, usd_org, deliver, settings):
    """subscription.created and invoice.paid before checkout.session.completed, then a stale
    'updated' after a deletion: the provider's current state wins each time."""
    settings.BILLING_SANDBOX_WEBHOOK_DELIVERY = "none"
    page = checkout_path(usd_client.post("/billing/checkout/", {"plan": "pro"}))
    deliver(usd_client.post, page, {"card_number": "4242424242424242"})
    hooks = {json.loads(h["body"])["type"]: h for h in sandbox_webhooks("stripe")}
    client = Client()
    assert deliver(replay, client, hooks["customer.subscription.created"]).status_code == 200
    assert deliver(replay, client, hooks["invoice.paid"]).status_code == 200
    assert plan_for_org(org_id=usd_org.pk).code == "free"  # nothing to attach to yet
    assert deliver(replay, client, hooks["checkout.session.completed"]).status_code == 200
    sub = Subscription.objects.get(organization=usd_org)
    assert sub.status == SubscriptionStatus.ACTIVE

    from billing.providers import provider_get

    deliver(
        provider_get("stripe").cancel_subscription, subscription_id=sub.provider_subscription_id, at_period_end=False
    )
    hooks = [h for h in sandbox_webhooks("stripe") if "customer.subscription.deleted" in h["body"]]
    deliver(replay, client, hooks[0])
    # A stale "created" arriving after the deletion must not resurrect the plan.
    created = next(h for h in sandbox_webhooks("stripe") if '"customer.subscription.created"' in h["body"])
    stale = json.loads(created["body"])
    stale["id"] = "evt_stale_created"
    body = json.dumps(stale)
    deliver(post, client, STRIPE, body, {"Stripe-Signature": stripe_signature(body)})
    sub.refresh_from_db()
    assert sub.status == SubscriptionStatus.CANCELED and plan_for_org(org_id=usd_org.pk).code == "free"


@pytest.mark.django_db
def test_paystack_subscription_create_before_charge_success(ngn_client, ngn_org, deliver, settings):
    settings.BILLING_SANDBOX_WEBHOOK_DELIVERY = "none"
    page = checkout_path(ngn_client.post("/billing/checkout/", {"plan": "pro"}))
    deliver(ngn_client.post, page, {"card_number": "4242424242424242"})
    hooks = {json.loads(h["body"])["event"]: h for h in sandbox_webhooks("paystack")}
    client = Client()
    assert deliver(replay, client, hooks["subscription.create"]).status_code == 200
    assert ProviderEvent.objects.get(event_type="subscription.create").status == EventStatus.IGNORED
    assert deliver(replay, client, hooks["charge.success"]).status_code == 200
    sub = Subscription.objects.get(organization=ngn_org)
    assert sub.status == SubscriptionStatus.ACTIVE and sub.provider_subscription_id.startswith("SUB_")


@pytest.mark.django_db
def test_transient_provider_error_is_503_and_retry_processes(usd_client, usd_org, deliver, settings, monkeypatch):
    settings.BILLING_SANDBOX_WEBHOOK_DELIVERY = "none"
    page = checkout_path(usd_client.post("/billing/checkout/", {"plan": "pro"}))
    deliver(usd_client.post, page, {"card_number": "4242424242424242"})
    hook = next(h for h in sandbox_webhooks("stripe") if "checkout.session.completed" in h["body"])
    from sandbox import stripe_api

    real = stripe_api.handle
    monkeypatch.setattr(
        stripe_api, "handle", lambda *a, **k: (503, {"error": {"type": "api_error", "message": "down"}})
    )
    assert deliver(replay, Client(), hook).status_code == 503
    monkeypatch.setattr(stripe_api, "handle", real)
    assert deliver(replay, Client(), hook).status_code == 200
    assert [e.status for e in ProviderEvent.objects.order_by("id")] == [EventStatus.FAILED, EventStatus.PROCESSED]
    assert Subscription.objects.get(organization=usd_org).status == SubscriptionStatus.ACTIVE


def test_a_disabled_providers_webhook_endpoint_does_not_exist(client, settings, db):
    """A disabled provider has no sandbox and no webhook endpoint: nothing can be forged there."""
    settings.PAYSTACK_ENABLED = False
    response = client.post(
        "/billing/webhooks/paystack/", data=b"{}", content_type="application/json", HTTP_X_PAYSTACK_SIGNATURE="0" * 128
    )
    assert response.status_code == 404
    assert client.get("/sandbox/checkout/paystack/anything/").status_code == 404
