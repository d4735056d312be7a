"""What happens in the sandbox when a tester pays (test cards: ``sandbox.cards``), passes
3-D Secure or simulates a renewal, and the signed webhooks that follow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sandbox import paystack_api, paystack_core, store, stripe_subscriptions
from sandbox.cards import card_outcome
from sandbox.emit import paystack_emit, stripe_emit
from sandbox.store import new_id, shape
from sandbox.stripe_api import customer_create
from sandbox.stripe_core import MONTH, now
from sandbox.stripe_subscriptions import stripe_charge_customer


# --- Stripe ---------------------------------------------------------------------------------
def stripe_complete_checkout(session_id: str, card: str) -> dict:
    session = store.get("stripe", "checkout.session", session_id)
    if session is None:
        raise KeyError(f"no checkout session {session_id}")
    customer_id = session.get("customer")
    if not customer_id:
        customer_id = customer_create({"email": session.get("customer_email")})["id"]
    customer = store.get("stripe", "customer", customer_id)
    customer["card_sandbox"] = card
    store.put("stripe", "customer", customer_id, customer)
    start, sub_id = now(), new_id("sub_")
    items = []
    for line in session["line_items_sandbox"]:
        price = store.get("stripe", "price", line["price"])
        metered = (price.get("recurring") or {}).get("usage_type") == "metered"
        items.append(
            {
                "id": new_id("si_", 14),
                "object": "subscription_item",
                "price": price,
                "quantity": None if metered else 1,
                "subscription": sub_id,
                "created": start,
                "metadata": {},
                "discounts": [],
                "tax_rates": [],
                "current_period_start": start,
                "current_period_end": start + MONTH,
            }
        )
    sub = shape("stripe", "subscription") | {
        "id": sub_id,
        "customer": customer_id,
        "status": "active",
        "currency": session["currency"],
        "created": start,
        "start_date": start,
        "billing_cycle_anchor": start,
        "cancel_at_period_end": False,
        "cancel_at": None,
        "canceled_at": None,
        "ended_at": None,
        "livemode": False,
        "latest_invoice": None,
        "items": {
            "object": "list",
            "data": items,
            "has_more": False,
            "url": f"/v1/subscription_items?subscription={sub_id}",
        },
        "metadata": (session.get("subscription_data_sandbox") or {}).get("metadata", {}),
    }
    store.put("stripe", "subscription", sub_id, sub)
    session.update(status="complete", payment_status="paid", customer=customer_id, subscription=sub_id)
    store.put("stripe", "checkout.session", session_id, session)
    stripe_emit("checkout.session.completed", session)
    stripe_emit("customer.subscription.created", sub)
    stripe_charge_customer(sub, session["amount_total"], reason="subscription_create")
    store.put("stripe", "subscription", sub_id, sub)  # with its latest_invoice
    session["invoice"] = sub["latest_invoice"]  # the invoice that took the first payment
    return store.put("stripe", "checkout.session", session_id, session)


def stripe_renewal(subscription_id: str, *, card: str | None = None) -> str:
    """Simulate the next renewal charge (optionally with a new card). Failed → past_due."""
    sub = store.get("stripe", "subscription", subscription_id)
    if card is not None:
        customer = store.get("stripe", "customer", sub["customer"])
        customer["card_sandbox"] = card
        store.put("stripe", "customer", sub["customer"], customer)
    base = sum(
        (i["price"]["unit_amount"] or 0)
        for i in sub["items"]["data"]
        if (i["price"].get("recurring") or {}).get("usage_type") != "metered"
    )
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
    return paystack_core.iso(dt)


def paystack_complete_transaction(reference: str, card: str) -> dict:
    tx = store.get("paystack", "transaction", reference)
    digits = "".join(ch for ch in card if ch.isdigit())
    authorization = {
        "authorization_code": "AUTH_" + new_id("", 10).lower(),
        "bin": digits[:6],
        "last4": digits[-4:],
        "exp_month": "12",
        "exp_year": str(datetime.now(UTC).year + 3),
        "channel": "card",
        "card_type": "visa ",
        "bank": "TEST BANK",
        "country_code": "NG",
        "brand": "visa",
        "reusable": True,
        "signature": "SIG_" + new_id("", 20),
        "account_name": None,
        "card_sandbox": card,
        "customer_code_sandbox": tx["customer"]["customer_code"],
    }
    store.put("paystack", "authorization", authorization["authorization_code"], authorization)
    now = datetime.now(UTC)
    tx.update(
        status="success",
        gateway_response="Successful",
        paid_at=_iso(now),
        paidAt=_iso(now),
        channel="card",
        authorization={k: v for k, v in authorization.items() if not k.endswith("_sandbox")},
    )
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
    invoice = {
        "domain": "test",
        "invoice_code": "INV_" + new_id("", 15).lower(),
        "amount": sub["amount"],
        "period_start": sub["next_payment_date"],
        "period_end": _iso(now + timedelta(days=30)),
        "status": "success" if outcome == "succeeded" else "failed",
        "paid": outcome == "succeeded",
        "paid_at": _iso(now) if outcome == "succeeded" else None,
        "description": None,
        "authorization": sub["authorization"],
        "customer": sub["customer"],
        "transaction": {},
        "created_at": _iso(now),
        "subscription": {
            k: sub[k]
            for k in (
                "status",
                "subscription_code",
                "email_token",
                "amount",
                "cron_expression",
                "next_payment_date",
                "open_invoice",
            )
        },
    }
    if outcome == "succeeded":
        if sub["status"] != "attention":  # a retried invoice pays the period already started
            sub["period_start"] = sub["next_payment_date"]
            start = datetime.fromisoformat(sub["period_start"].replace("Z", "+00:00"))
            sub["next_payment_date"] = _iso(start + timedelta(days=30))
        sub["status"] = "active"
        sub["open_invoice"] = None
        reference = new_id("", 12).lower()
        tx = shape("paystack", "transactions-verify") | {
            "id": 1,
            "reference": reference,
            "amount": sub["amount"],
            "requested_amount": sub["amount"],
            "currency": sub["plan"]["currency"],
            "status": "success",
            "paid_at": _iso(now),
            "customer": sub["customer"],
            "authorization": sub["authorization"],
            "plan": sub["plan"]["plan_code"],
            "metadata": "",
        }
        store.put("paystack", "transaction", reference, tx)
        invoice["transaction"] = {
            "reference": reference,
            "status": "success",
            "amount": sub["amount"],
            "currency": tx["currency"],
        }
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


# --- hosted portal --------------------------------------------------------------------------
def subscription_cancel_at_period_end(provider: str, subscription_id: str, *, email_token: str = "") -> None:
    """The portal's Cancel button: what the provider's own portal does (Stripe: cancel at
    period end; Paystack: disable), with the webhooks that follow."""
    if provider == "stripe":
        stripe_subscriptions.subscription_update({"cancel_at_period_end": "true"}, subscription_id)
    else:
        paystack_api.subscription_disable({}, {"code": subscription_id, "token": email_token})
