"""Provider plumbing: registry and sandbox switch, Paystack retries, Stripe signature scheme."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import httpx
import pytest
import stripe

from billing.providers import provider_get
from billing.providers.base import ProviderError, ProviderUnavailable, SignatureInvalid
from billing.providers.paystack import PaystackProvider, paystack_event_id
from billing.providers.stripe import StripeProvider
from sandbox.transport import SandboxStripeHTTPClient


class FlakyNetwork(httpx.BaseTransport):
    """Stands in for the network only: fails the first ``failures`` requests, then answers."""

    def __init__(self, failures: list):
        self.failures, self.calls = list(failures), 0

    def handle_request(self, request):
        self.calls += 1
        if self.failures:
            failure = self.failures.pop(0)
            if isinstance(failure, Exception):
                raise failure
            return httpx.Response(failure, json={"status": False, "message": "upstream"})
        return httpx.Response(
            200,
            json={
                "status": True,
                "message": "ok",
                "data": {"status": "success", "reference": "r1", "amount": 500, "currency": "NGN", "customer": {}},
            },
        )


def test_paystack_retries_connect_errors_and_5xx_then_succeeds():
    network = FlakyNetwork([httpx.ConnectError("boom"), 502])
    payment = PaystackProvider(secret_key="sk", transport=network).fetch_payment(reference="r1")
    assert network.calls == 3 and payment.paid and payment.amount_minor == 500


def test_paystack_gives_up_as_unavailable_and_4xx_is_a_refusal():
    with pytest.raises(ProviderUnavailable):
        PaystackProvider(secret_key="sk", transport=FlakyNetwork([500, 500, 500])).fetch_payment(reference="r1")
    network = FlakyNetwork([400])
    with pytest.raises(ProviderError):
        PaystackProvider(secret_key="sk", transport=network).fetch_payment(reference="r1")
    assert network.calls == 1  # never retry a refusal


def test_paystack_signature_is_hmac_sha512_of_raw_body():
    provider = PaystackProvider(secret_key="sk_test_abc", transport=FlakyNetwork([]))
    body = b'{"event":"charge.success","data":{"reference":"x1","metadata":0}}'
    good = hmac.new(b"sk_test_abc", body, hashlib.sha512).hexdigest()
    event = provider.verify_and_parse_webhook(body=body, headers={"x-paystack-signature": good})
    assert event.id == "charge.success:x1" and event.object["metadata"] == 0
    with pytest.raises(SignatureInvalid):
        provider.verify_and_parse_webhook(body=body + b" ", headers={"x-paystack-signature": good})


def test_paystack_event_ids_from_documented_fixtures(settings):
    from pathlib import Path

    fixtures = Path(settings.BASE_DIR).parent / "shared" / "fixtures" / "paystack" / "webhooks"
    if not fixtures.exists():
        pytest.skip("shared fixtures are not beside the checkout")
    ids = {}
    for path in fixtures.glob("*.json"):
        raw = path.read_bytes()
        event = json.loads(raw)
        data = event["data"] if isinstance(event["data"], dict) else {"items": event["data"]}
        ids[path.stem] = paystack_event_id(event["event"], data, raw)
    assert ids["transaction-successful"] == "charge.success:qTPrJoy9Bx"
    assert ids["subscription-disabled"].startswith("subscription.disable:SUB_")
    assert len(set(ids.values())) == len(ids)  # every documented event is distinct


def test_stripe_signature_scheme_and_tolerance():
    provider = StripeProvider(secret_key="sk_test", webhook_secret="whsec_abc", http_client=SandboxStripeHTTPClient())
    body = json.dumps({"id": "evt_1", "type": "invoice.paid", "data": {"object": {"id": "in_1"}}})
    header = stripe.WebhookSignature._compute_signature(f"{int(time.time())}.{body}", "whsec_abc")
    event = provider.verify_and_parse_webhook(
        body=body.encode(), headers={"Stripe-Signature": f"t={int(time.time())},v1={header}"}
    )
    assert (event.id, event.type, event.object["id"]) == ("evt_1", "invoice.paid", "in_1")
    old = int(time.time()) - 301
    stale = stripe.WebhookSignature._compute_signature(f"{old}.{body}", "whsec_abc")
    with pytest.raises(SignatureInvalid):
        provider.verify_and_parse_webhook(body=body.encode(), headers={"Stripe-Signature": f"t={old},v1={stale}"})


def test_real_keys_switch_off_the_sandbox(settings):
    settings.STRIPE_SECRET_KEY = "sk_live_123"
    settings.PAYSTACK_SECRET_KEY = ""
    stripe_provider = provider_get("stripe")
    assert not isinstance(stripe_provider.client._requestor._client, SandboxStripeHTTPClient)
    assert str(provider_get("paystack").http.base_url).startswith("https://paystack-sandbox")
    settings.PAYSTACK_SECRET_KEY = "sk_live_456"
    assert str(provider_get("paystack").http.base_url) == "https://api.paystack.co"
