"""Sandbox Stripe subscriptions: get/list/update (plan change with a prorated charge)/cancel,
and charging a subscription's customer (the invoice + charge + webhook of a renewal)."""

from __future__ import annotations

from sandbox import emit, store
from sandbox.cards import card_outcome
from sandbox.store import new_id, shape
from sandbox.stripe_core import P, StripeSandboxError, _get, _missing, now


# --- subscriptions --------------------------------------------------------------------------
def subscription_get(params, id):
    return _get("subscription", id)


def subscription_list(params):
    rows = [
        s
        for s in store.all_of(P, "subscription")
        if (not params.get("customer") or s["customer"] == params["customer"])
        and (not params.get("status") or s["status"] == params["status"])
        and (not params.get("price") or any(i["price"]["id"] == params["price"] for i in s["items"]["data"]))
    ]
    return {"object": "list", "data": rows, "has_more": False, "url": "/v1/subscriptions"}


def subscription_update(params, id):
    sub = _get("subscription", id)
    if sub["status"] == "canceled":
        raise StripeSandboxError(400, "A canceled subscription can only update its cancellation_details and metadata.")
    if "cancel_at_period_end" in params:
        sub["cancel_at_period_end"] = str(params["cancel_at_period_end"]).lower() == "true"
        sub["cancel_at"] = sub["items"]["data"][0]["current_period_end"] if sub["cancel_at_period_end"] else None
    for change in params.get("items") or []:
        item = next((i for i in sub["items"]["data"] if i["id"] == change["id"]), None) or _missing(
            "subscription_item", change["id"]
        )
        old_price, new_price = item["price"], _get("price", change["price"])
        item["price"] = new_price
        if params.get("proration_behavior") == "always_invoice" and new_price["unit_amount"] > old_price["unit_amount"]:
            remaining = max(0, item["current_period_end"] - now()) / (
                item["current_period_end"] - item["current_period_start"]
            )
            amount = round((new_price["unit_amount"] - old_price["unit_amount"]) * remaining)
            outcome = stripe_charge_customer(sub, amount, reason="subscription_update")
            if outcome != "succeeded":
                item["price"] = old_price
                raise StripeSandboxError(402, "Your card was declined.", "card_declined", "card_error")
    store.put(P, "subscription", id, sub)
    emit.stripe_emit("customer.subscription.updated", sub)
    return sub


def subscription_cancel(params, id):
    sub = _get("subscription", id)
    sub.update(status="canceled", canceled_at=now(), ended_at=now())
    store.put(P, "subscription", id, sub)
    emit.stripe_emit("customer.subscription.deleted", sub)
    return sub


def _base_prices(sub: dict) -> list[str]:
    return [
        item["price"]["id"]
        for item in sub["items"]["data"]
        if (item["price"].get("recurring") or {}).get("usage_type") != "metered"
    ]


def stripe_charge_customer(sub: dict, amount: int, *, reason: str) -> str:
    """Charge the subscription's customer; records a charge + invoice and emits invoice.paid /
    invoice.payment_failed. Returns the card outcome."""
    customer = store.get(P, "customer", sub["customer"]) or {}
    outcome = card_outcome(customer.get("card_sandbox", ""))
    if outcome == "requires_action":
        outcome = "succeeded"  # off-session renewals of an authenticated card go through in the sandbox
    charge_id = new_id("ch_")
    invoice = shape(P, "invoice") | {
        "id": new_id("in_"),
        "customer": sub["customer"],
        "subscription": sub["id"],
        "currency": sub["currency"],
        "amount_due": amount,
        "amount_paid": amount if outcome == "succeeded" else 0,
        "amount_remaining": 0 if outcome == "succeeded" else amount,
        "attempt_count": 1,
        "attempted": True,
        "status": "paid" if outcome == "succeeded" else "open",
        "billing_reason": reason,
        "created": now(),
        "livemode": False,
        "parent": {"subscription_details": {"subscription": sub["id"]}, "type": "subscription_details"},
        "lines": {
            "object": "list",
            "has_more": False,
            "url": "/v1/invoices/lines",
            "data": [
                {
                    "id": new_id("il_"),
                    "object": "line_item",
                    "amount": amount,
                    "currency": sub["currency"],
                    "quantity": 1,
                    "pricing": {"type": "price_details", "price_details": {"price": price_id, "product": ""}},
                }
                for price_id in _base_prices(sub)[:1]
            ],
        },
    }
    store.put(P, "invoice", invoice["id"], invoice)
    sub["latest_invoice"] = invoice["id"]  # stored by the caller, as Stripe does
    if outcome == "succeeded":
        charge = shape(P, "charge") | {
            "id": charge_id,
            "amount": amount,
            "amount_refunded": 0,
            "refunded": False,
            "currency": sub["currency"],
            "customer": sub["customer"],
            "paid": True,
            "status": "succeeded",
            "created": now(),
            "livemode": False,
        }
        store.put(P, "charge", charge_id, charge)
        invoice["charge_sandbox"] = charge_id
        store.put(P, "invoice", invoice["id"], invoice)
    emit.stripe_emit("invoice.paid" if outcome == "succeeded" else "invoice.payment_failed", invoice)
    return outcome
