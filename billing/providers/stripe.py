"""Stripe through the official SDK's ``StripeClient`` (v1 form-encoded API, v2 meter events)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import stripe

from billing.providers.base import (
    CheckoutSession,
    ParsedEvent,
    PaymentInfo,
    PaymentProvider,
    ProviderError,
    ProviderUnavailable,
    SignatureInvalid,
    SubscriptionInfo,
)

WEBHOOK_TOLERANCE_SECONDS = 300

_STATUS = {
    "active": "active",
    "trialing": "active",
    "past_due": "past_due",
    "unpaid": "past_due",
    "canceled": "canceled",
    "incomplete_expired": "canceled",
    "incomplete": "incomplete",
    "paused": "past_due",
}


def _ts(value) -> datetime | None:
    return datetime.fromtimestamp(int(value), tz=UTC) if value else None


def _line_price(line: dict) -> str:
    """The price of an invoice line (``pricing.price_details.price`` since 2025, ``price.id`` before)."""
    details = (line.get("pricing") or {}).get("price_details") or {}
    price = details.get("price") or line.get("price") or ""
    return price if isinstance(price, str) else price.get("id", "")


class StripeProvider(PaymentProvider):
    name = "stripe"

    def __init__(
        self,
        *,
        secret_key: str,
        webhook_secret: str,
        http_client: stripe.HTTPClient | None = None,
        api_base: str | None = None,
    ) -> None:
        self.webhook_secret = webhook_secret
        bases = {"api": api_base, "meter_events": api_base} if api_base else None
        self.client = stripe.StripeClient(
            secret_key, http_client=http_client, max_network_retries=2, base_addresses=bases
        )

    def _call(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (stripe.APIConnectionError, stripe.RateLimitError) as exc:
            raise ProviderUnavailable(f"Stripe: {exc.user_message or exc}") from exc
        except stripe.StripeError as exc:
            if (exc.http_status or 0) >= 500:
                raise ProviderUnavailable(f"Stripe: {exc.user_message or exc}") from exc
            raise ProviderError(f"Stripe: {exc.user_message or exc}") from exc

    # --- checkout ---------------------------------------------------------------------------
    def create_checkout(self, *, org, plan, price, customer_email, customer_id, success_url, cancel_url, reference):
        line_items = [{"price": self.ensure_price(plan=plan, price=price), "quantity": 1}]
        if price.stripe_metered_price_id:
            line_items.append({"price": price.stripe_metered_price_id})  # metered: no quantity
        metadata = {"org_id": str(org.pk), "plan": plan.code, "price_id": str(price.pk), "reference": reference}
        params = {
            "mode": "subscription",
            "line_items": line_items,
            "success_url": success_url,
            "cancel_url": cancel_url,
            "client_reference_id": str(org.pk),
            "metadata": metadata,
            "subscription_data": {"metadata": metadata},
        }
        if customer_id:
            params["customer"] = customer_id
        else:
            params["customer_email"] = customer_email
        session = self._call(self.client.v1.checkout.sessions.create, params, {"idempotency_key": reference})
        return CheckoutSession(reference=session.id, url=session.url)

    def ensure_price(self, *, plan, price) -> str:
        """The Stripe price id for our Price, creating product + price at Stripe the first time."""
        if price.stripe_price_id:
            return price.stripe_price_id
        product = self._call(
            self.client.v1.products.create,
            {"name": f"{plan.name} plan", "metadata": {"plan": plan.code}},
            {"idempotency_key": f"product-{plan.code}"},
        )
        created = self._call(
            self.client.v1.prices.create,
            {
                "product": product.id,
                "currency": price.currency.lower(),
                "unit_amount": price.amount_minor,
                "recurring": {"interval": price.interval},
            },
            {"idempotency_key": f"price-{price.pk}-{price.amount_minor}"},
        )
        price.stripe_price_id = created.id
        price.save(update_fields=["stripe_price_id"])
        return created.id

    def fetch_payment(self, *, reference):
        session = self._call(self.client.v1.checkout.sessions.retrieve, reference)
        return PaymentInfo(
            reference=session.id,
            paid=session.status == "complete" and session.payment_status in ("paid", "no_payment_required"),
            amount_minor=session.amount_total,
            currency=(session.currency or "").upper(),
            customer_id=session.customer or "",
            subscription_id=session.subscription or "",
            metadata=session.metadata.to_dict() if session.metadata else {},
        )

    # --- subscriptions ----------------------------------------------------------------------
    def _subscription_info(self, sub) -> SubscriptionInfo:
        sub = sub.to_dict() if hasattr(sub, "to_dict") else sub
        items = sub["items"]["data"] if sub.get("items") else []
        base = next(
            (i for i in items if (i.get("price") or {}).get("recurring", {}).get("usage_type") != "metered"), None
        )
        start = sub.get("current_period_start") or (base or {}).get("current_period_start")
        end = sub.get("current_period_end") or (base or {}).get("current_period_end")
        return SubscriptionInfo(
            id=sub["id"],
            status=_STATUS.get(sub["status"], "incomplete"),
            customer_id=sub.get("customer") or "",
            cancel_at_period_end=bool(sub.get("cancel_at_period_end")),
            current_period_start=_ts(start),
            current_period_end=_ts(end),
            price_ref=((base or {}).get("price") or {}).get("id", ""),
            latest_invoice_id=latest
            if isinstance(latest := sub.get("latest_invoice"), str)
            else (latest or {}).get("id", ""),
        )

    def fetch_subscription(self, *, subscription_id):
        return self._subscription_info(self._call(self.client.v1.subscriptions.retrieve, subscription_id))

    def invoice_payment(self, *, invoice_id):
        invoice = self._call(self.client.v1.invoices.retrieve, invoice_id).to_dict()
        if invoice.get("status") != "paid":
            return None
        prices = [_line_price(line) for line in (invoice.get("lines") or {}).get("data", [])]
        return PaymentInfo(
            reference=invoice_id,
            paid=True,
            amount_minor=invoice.get("amount_paid"),
            currency=(invoice.get("currency") or "").upper(),
            customer_id=invoice.get("customer") or "",
            plan_ref=next((price for price in prices if price), ""),
        )

    def find_subscription(self, *, customer_id, price_ref):
        subs = self._call(
            self.client.v1.subscriptions.list, {"customer": customer_id, "price": price_ref, "status": "active"}
        )
        return self._subscription_info(subs.data[0].to_dict()) if subs.data else None

    def cancel_subscription(self, *, subscription_id, email_token="", at_period_end=True):
        if at_period_end:
            self._call(self.client.v1.subscriptions.update, subscription_id, {"cancel_at_period_end": True})
        else:
            self._call(self.client.v1.subscriptions.cancel, subscription_id)

    def resume_subscription(self, *, subscription_id, email_token=""):
        self._call(self.client.v1.subscriptions.update, subscription_id, {"cancel_at_period_end": False})

    def change_subscription_price(self, *, subscription_id, price, prorate):
        sub = self._call(self.client.v1.subscriptions.retrieve, subscription_id).to_dict()
        info = self._subscription_info(sub)
        base_item = next(i for i in sub["items"]["data"] if i["price"]["id"] == info.price_ref)
        updated = self._call(
            self.client.v1.subscriptions.update,
            subscription_id,
            {
                "items": [{"id": base_item["id"], "price": self.ensure_price(plan=price.plan, price=price)}],
                # Upgrades charge the prorated difference at once; downgrades credit the next invoice.
                "proration_behavior": "always_invoice" if prorate else "create_prorations",
                "cancel_at_period_end": False,
                # A declined proration must fail the update (Stripe's default would apply the new
                # price and leave the invoice open): never grant an upgrade that was not paid.
                **({"payment_behavior": "error_if_incomplete"} if prorate else {}),
            },
        )
        return self._subscription_info(updated)

    def refund(self, *, reference, amount_minor=None):
        # The SDK sends every POST with one idempotency key for all its retries: one refund per call.
        params = {"payment_intent": reference} if reference.startswith("pi_") else {"charge": reference}
        if amount_minor is not None:
            params["amount"] = amount_minor
        return self._call(self.client.v1.refunds.create, params).id

    def refund_reference(self, *, reference):
        """A checkout session was paid by its subscription's first invoice: refund that payment."""
        if not reference.startswith("cs_"):
            return reference
        session = self._call(self.client.v1.checkout.sessions.retrieve, reference)
        invoice_id = session.invoice if isinstance(session.invoice, str) else getattr(session.invoice, "id", "")
        if not invoice_id and session.subscription:
            sub = self._call(self.client.v1.subscriptions.retrieve, session.subscription).to_dict()
            latest = sub.get("latest_invoice")
            invoice_id = latest if isinstance(latest, str) else (latest or {}).get("id", "")
        payments = self._call(self.client.v1.invoice_payments.list, {"invoice": invoice_id, "status": "paid"}).to_dict()
        for row in payments.get("data", []):
            payment = row.get("payment") or {}
            if payment.get(payment.get("type") or "") and payment.get("type") in ("payment_intent", "charge"):
                return payment[payment["type"]]
        raise ProviderError(f"Stripe: no payment to refund for checkout {reference}.")

    def refunded_minor(self, *, reference):
        key = "payment_intent" if reference.startswith("pi_") else "charge"
        refunds = self._call(self.client.v1.refunds.list, {key: reference, "limit": 100})
        return sum(r.amount for r in refunds.data if r.status in ("succeeded", "pending", "requires_action"))

    def expire_checkout(self, *, reference):
        self._call(self.client.v1.checkout.sessions.expire, reference)
        return True

    def live_subscriptions(self, *, customer_id, price_ref):
        subs = self._call(self.client.v1.subscriptions.list, {"customer": customer_id, "price": price_ref})
        return [
            info
            for info in (self._subscription_info(sub.to_dict()) for sub in subs.data)
            if info.status in ("active", "past_due")
        ]

    # --- usage ------------------------------------------------------------------------------
    def report_usage(self, *, customer_id, event_name, value, identifier, timestamp):
        # v2 meter events: Stripe deduplicates on ``identifier`` (24h+), so a retried report counts once.
        self._call(
            self.client.v2.billing.meter_events.create,
            {
                "event_name": event_name,
                "identifier": identifier,
                "timestamp": timestamp.isoformat(),
                "payload": {"stripe_customer_id": customer_id, "value": str(value)},
            },
        )
        return True

    def charge_usage(self, **kwargs):
        raise NotImplementedError("Stripe bills usage through Billing Meters (report_usage).")

    def create_portal_session(self, *, customer_id, subscription_id, return_url):
        session = self._call(
            self.client.v1.billing_portal.sessions.create, {"customer": customer_id, "return_url": return_url}
        )
        return session.url

    # --- webhooks ---------------------------------------------------------------------------
    def verify_and_parse_webhook(self, *, body, headers):
        signature = headers.get("stripe-signature") or headers.get("Stripe-Signature") or ""
        payload = body.decode("utf-8", errors="replace")
        try:
            stripe.WebhookSignature.verify_header(payload, signature, self.webhook_secret, WEBHOOK_TOLERANCE_SECONDS)
            event = json.loads(payload)
            return ParsedEvent(id=event["id"], type=event["type"], object=event["data"]["object"])
        except stripe.SignatureVerificationError as exc:
            raise SignatureInvalid(str(exc)) from exc
        except (ValueError, KeyError, TypeError) as exc:
            raise SignatureInvalid(f"unparsable event: {exc}") from exc
