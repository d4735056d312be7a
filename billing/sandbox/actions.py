"""What happens in the sandbox when a tester pays, and the signed webhooks that follow.

Test cards (Stripe's well-known numbers, used for both providers):

* ``4242 4242 4242 4242`` succeeds;
* ``4000 0000 0000 0002`` is declined;
* ``4000 0025 0000 3155`` requires authentication (a 3-D Secure-style confirm step).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction

from billing.sandbox import paystack_api, store
from billing.sandbox.store import new_id, shape

CARD_SUCCEEDS = "4242424242424242"
CARD_DECLINED = "4000000000000002"
CARD_REQUIRES_AUTH = "4000002500003155"
MONTH = 30 * 86400


def card_outcome(card: str) -> str:
    """``succeeded``, ``declined`` or ``requires_action`` for a card number (spaces ignored)."""
    digits = "".join(ch for ch in str(card) if ch.isdigit())
    if digits == CARD_SUCCEEDS:
        return "succeeded"
    if digits == CARD_REQUIRES_AUTH:
        return "requires_action"
    return "declined"


# --- webhooks out of the sandbox ------------------------------------------------------------
def _send(provider: str, path: str, body: str, headers: dict) -> None:
    from billing.tasks import sandbox_webhook_deliver

    store.put(provider, "webhook", new_id("wh_"), {"path": path, "body": body, "headers": headers})
    transaction.on_commit(lambda: sandbox_webhook_deliver.delay(path, body, headers))


def stripe_signature(body: str, *, secret: str | None = None, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    secret = settings.STRIPE_WEBHOOK_SECRET if secret is None else secret
    digest = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def paystack_signature(body: str | bytes, *, secret: str | None = None) -> str:
    raw = body.encode() if isinstance(body, str) else body
    return hmac.new((secret or paystack_api.secret_key()).encode(), raw, hashlib.sha512).hexdigest()


def stripe_emit(event_type: str, obj: dict) -> dict:
    event = shape("stripe", "event") | {
        "id": new_id("evt_"), "type": event_type, "created": int(time.time()), "livemode": False,
        "api_version": "2025-08-27.basil", "data": {"object": obj}, "pending_webhooks": 1,
    }
    body = json.dumps(event)
    _send("stripe", "/billing/webhooks/stripe/", body, {"Stripe-Signature": stripe_signature(body)})
    return event


def paystack_emit(event_type: str, data: dict) -> dict:
    event = {"event": event_type, "data": {k: v for k, v in data.items() if not k.endswith("_sandbox")}}
    body = json.dumps(event)
    _send("paystack", "/billing/webhooks/paystack/", body, {"x-paystack-signature": paystack_signature(body)})
    return event


# --- Stripe ---------------------------------------------------------------------------------
def _now() -> int:
    return int(time.time())


def stripe_charge_customer(sub: dict, amount: int, *, reason: str) -> str:
    """Charge the subscription's customer; records a charge + invoice and emits invoice.paid /
    invoice.payment_failed. Returns the card outcome."""
    customer = store.get("stripe", "customer", sub["customer"]) or {}
    outcome = card_outcome(customer.get("card_sandbox", ""))
    if outcome == "requires_action":
        outcome = "succeeded"  # off-session renewals of an authenticated card go through in the sandbox
    charge_id = new_id("ch_")
    invoice = shape("stripe", "invoice") | {
        "id": new_id("in_"), "customer": sub["customer"], "subscription": sub["id"], "currency": sub["currency"],
        "amount_due": amount, "amount_paid": amount if outcome == "succeeded" else 0,
        "amount_remaining": 0 if outcome == "succeeded" else amount, "attempt_count": 1, "attempted": True,
        "status": "paid" if outcome == "succeeded" else "open", "billing_reason": reason, "created": _now(),
        "livemode": False, "parent": {"subscription_details": {"subscription": sub["id"]}, "type": "subscription_details"},
    }
    store.put("stripe", "invoice", invoice["id"], invoice)
    if outcome == "succeeded":
        charge = shape("stripe", "charge") | {"id": charge_id, "amount": amount, "amount_refunded": 0, "refunded": False,
                                              "currency": sub["currency"], "customer": sub["customer"], "paid": True,
                                              "status": "succeeded", "created": _now(), "livemode": False}
        store.put("stripe", "charge", charge_id, charge)
        invoice["charge_sandbox"] = charge_id
        store.put("stripe", "invoice", invoice["id"], invoice)
    stripe_emit("invoice.paid" if outcome == "succeeded" else "invoice.payment_failed", invoice)
    return outcome


def stripe_complete_checkout(session_id: str, card: str) -> dict:
    session = store.get("stripe", "checkout.session", session_id)
    customer_id = session.get("customer")
    if not customer_id:
        from billing.sandbox.stripe_api import customer_create

        customer_id = customer_create({"email": session.get("customer_email")})["id"]
    customer = store.get("stripe", "customer", customer_id)
    customer["card_sandbox"] = card
    store.put("stripe", "customer", customer_id, customer)
    start, sub_id = _now(), new_id("sub_")
    items = []
    for line in session["line_items_sandbox"]:
        price = store.get("stripe", "price", line["price"])
        metered = (price.get("recurring") or {}).get("usage_type") == "metered"
        items.append({"id": new_id("si_", 14), "object": "subscription_item", "price": price, "quantity": None if metered else 1,
                      "subscription": sub_id, "created": start, "metadata": {}, "discounts": [], "tax_rates": [],
                      "current_period_start": start, "current_period_end": start + MONTH})
    sub = shape("stripe", "subscription") | {
        "id": sub_id, "customer": customer_id, "status": "active", "currency": session["currency"], "created": start,
        "start_date": start, "billing_cycle_anchor": start, "cancel_at_period_end": False, "cancel_at": None,
        "canceled_at": None, "ended_at": None, "livemode": False, "latest_invoice": None,
        "items": {"object": "list", "data": items, "has_more": False, "url": f"/v1/subscription_items?subscription={sub_id}"},
        "metadata": (session.get("subscription_data_sandbox") or {}).get("metadata", {}),
    }
    store.put("stripe", "subscription", sub_id, sub)
    session.update(status="complete", payment_status="paid", customer=customer_id, subscription=sub_id)
    store.put("stripe", "checkout.session", session_id, session)
    stripe_emit("checkout.session.completed", session)
    stripe_emit("customer.subscription.created", sub)
    stripe_charge_customer(sub, session["amount_total"], reason="subscription_create")
    return session


def stripe_renewal(subscription_id: str, *, card: str | None = None) -> str:
    """Simulate the next renewal charge (optionally with a new card). Failed → past_due."""
    sub = store.get("stripe", "subscription", subscription_id)
    if card is not None:
        customer = store.get("stripe", "customer", sub["customer"])
        customer["card_sandbox"] = card
        store.put("stripe", "customer", sub["customer"], customer)
    base = sum((i["price"]["unit_amount"] or 0) for i in sub["items"]["data"]
               if (i["price"].get("recurring") or {}).get("usage_type") != "metered")
    outcome = stripe_charge_customer(sub, base, reason="subscription_cycle")
    if outcome == "succeeded":
        recovering = sub["status"] == "past_due"  # a retried invoice pays the period already started
        sub["status"] = "active"
        if not recovering:
            for item in sub["items"]["data"]:
                item["current_period_start"] = item["current_period_end"]
                item["current_period_end"] = item["current_period_end"] + MONTH
    else:
        sub["status"] = "past_due"
    store.put("stripe", "subscription", subscription_id, sub)
    stripe_emit("customer.subscription.updated", sub)
    return outcome


# --- Paystack -------------------------------------------------------------------------------
def _iso(dt: datetime) -> str:
    return paystack_api.iso(dt)


def paystack_complete_transaction(reference: str, card: str) -> dict:
    tx = store.get("paystack", "transaction", reference)
    digits = "".join(ch for ch in card if ch.isdigit())
    authorization = {
        "authorization_code": "AUTH_" + new_id("", 10).lower(), "bin": digits[:6], "last4": digits[-4:],
        "exp_month": "12", "exp_year": str(datetime.now(UTC).year + 3), "channel": "card", "card_type": "visa ",
        "bank": "TEST BANK", "country_code": "NG", "brand": "visa", "reusable": True,
        "signature": "SIG_" + new_id("", 20), "account_name": None, "card_sandbox": card,
        "customer_code_sandbox": tx["customer"]["customer_code"],
    }
    store.put("paystack", "authorization", authorization["authorization_code"], authorization)
    now = datetime.now(UTC)
    tx.update(status="success", gateway_response="Successful", paid_at=_iso(now), paidAt=_iso(now), channel="card",
              authorization={k: v for k, v in authorization.items() if not k.endswith("_sandbox")})
    store.put("paystack", "transaction", reference, tx)
    plan = store.get("paystack", "plan", tx["plan"]) if tx.get("plan") else None
    paystack_emit("charge.success", tx | {"plan": plan or {}})
    if plan:
        sub = paystack_api.subscription_new(customer=tx["customer"], plan=plan, authorization=authorization)
        paystack_emit("subscription.create", sub)
    return tx


def paystack_fail_transaction(reference: str) -> None:
    tx = store.get("paystack", "transaction", reference)
    tx.update(status="failed", gateway_response="Declined")
    store.put("paystack", "transaction", reference, tx)


def paystack_renewal(subscription_code: str, *, card: str | None = None) -> str:
    sub = store.get("paystack", "subscription", subscription_code)
    authorization = store.get("paystack", "authorization", sub["authorization"]["authorization_code"])
    if card is not None:
        authorization["card_sandbox"] = card
        store.put("paystack", "authorization", authorization["authorization_code"], authorization)
    outcome = card_outcome(authorization["card_sandbox"])
    outcome = "succeeded" if outcome == "requires_action" else outcome
    now = datetime.now(UTC)
    invoice = {"domain": "test", "invoice_code": "INV_" + new_id("", 15).lower(), "amount": sub["amount"],
               "period_start": sub["next_payment_date"], "period_end": _iso(now + timedelta(days=30)),
               "status": "success" if outcome == "succeeded" else "failed", "paid": outcome == "succeeded",
               "paid_at": _iso(now) if outcome == "succeeded" else None, "description": None,
               "authorization": sub["authorization"], "customer": sub["customer"], "transaction": {},
               "created_at": _iso(now),
               "subscription": {k: sub[k] for k in ("status", "subscription_code", "email_token", "amount",
                                                     "cron_expression", "next_payment_date", "open_invoice")}}
    if outcome == "succeeded":
        if sub["status"] != "attention":  # a retried invoice pays the period already started
            sub["period_start"] = sub["next_payment_date"]
            start = datetime.fromisoformat(sub["period_start"].replace("Z", "+00:00"))
            sub["next_payment_date"] = _iso(start + timedelta(days=30))
        sub["status"] = "active"
        sub["open_invoice"] = None
        reference = new_id("", 12).lower()
        tx = shape("paystack", "transactions-verify") | {
            "id": 1, "reference": reference, "amount": sub["amount"], "requested_amount": sub["amount"],
            "currency": sub["plan"]["currency"], "status": "success", "paid_at": _iso(now), "customer": sub["customer"],
            "authorization": sub["authorization"], "plan": sub["plan"]["plan_code"], "metadata": ""}
        store.put("paystack", "transaction", reference, tx)
        invoice["transaction"] = {"reference": reference, "status": "success", "amount": sub["amount"], "currency": tx["currency"]}
    else:
        sub["status"] = "attention"
        sub["open_invoice"] = invoice["invoice_code"]
    invoice["subscription"]["status"] = sub["status"]
    store.put("paystack", "subscription", subscription_code, sub)
    if outcome == "succeeded":
        paystack_emit("charge.success", tx | {"plan": sub["plan"]})
        paystack_emit("invoice.update", invoice)
    else:
        paystack_emit("invoice.payment_failed", invoice)
    return outcome
