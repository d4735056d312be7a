"""Sandbox Stripe API: the endpoints Tollgate uses, with Stripe's object shapes and errors."""

from __future__ import annotations

import re
import time

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse

from sandbox import emit, store
from sandbox.cards import card_outcome
from sandbox.store import new_id, shape

P = "stripe"
MONTH = 30 * 86400


class StripeSandboxError(Exception):
    def __init__(self, status: int, message: str, code: str = "", type_: str = "invalid_request_error"):
        self.status, self.body = status, {"error": {"type": type_, "message": message, "code": code or None}}


def _missing(kind: str, object_id: str):
    raise StripeSandboxError(404, f"No such {kind}: '{object_id}'", "resource_missing")


def _get(kind: str, object_id: str) -> dict:
    return store.get(P, kind, object_id) or _missing(kind, object_id)


def handle(method: str, path: str, params: dict, *, idempotency_key: str = "") -> tuple[int, dict]:
    try:
        if method == "POST" and idempotency_key:
            cached = store.get(P, "idempotency", idempotency_key)
            if cached is not None:
                return 200, cached
        result = _route(method, path, params)
        if method == "POST" and idempotency_key:
            try:
                with transaction.atomic():
                    store.put(P, "idempotency", idempotency_key, result)
            except IntegrityError:
                pass
        return 200, result
    except StripeSandboxError as exc:
        return exc.status, exc.body


ROUTES: list[tuple[str, str, str]] = [
    ("POST", r"/v1/products", "product_create"),
    ("POST", r"/v1/prices", "price_create"),
    ("GET", r"/v1/prices/(?P<id>[^/]+)", "price_get"),
    ("POST", r"/v1/customers", "customer_create"),
    ("POST", r"/v1/checkout/sessions", "session_create"),
    ("GET", r"/v1/checkout/sessions/(?P<id>[^/]+)", "session_get"),
    ("POST", r"/v1/checkout/sessions/(?P<id>[^/]+)/expire", "session_expire"),
    ("GET", r"/v1/subscriptions", "subscription_list"),
    ("GET", r"/v1/subscriptions/(?P<id>[^/]+)", "subscription_get"),
    ("POST", r"/v1/subscriptions/(?P<id>[^/]+)", "subscription_update"),
    ("DELETE", r"/v1/subscriptions/(?P<id>[^/]+)", "subscription_cancel"),
    ("GET", r"/v1/invoices/(?P<id>[^/]+)", "invoice_get"),
    ("POST", r"/v1/refunds", "refund_create"),
    ("GET", r"/v1/refunds", "refund_list"),
    ("GET", r"/v1/invoice_payments", "invoice_payment_list"),
    ("POST", r"/v1/billing_portal/sessions", "portal_create"),
    ("POST", r"/v2/billing/meter_events", "meter_event_create"),
]


def _route(method: str, path: str, params: dict) -> dict:
    for verb, pattern, name in ROUTES:
        match = re.fullmatch(pattern, path)
        if verb == method and match:
            return globals()[name](params, **match.groupdict())
    raise StripeSandboxError(404, f"Unrecognized request URL ({method}: {path}).")


def now() -> int:
    return int(time.time())


# --- catalog --------------------------------------------------------------------------------
def product_create(params):
    product = shape(P, "product") | {
        "id": new_id("prod_", 14),
        "name": params["name"],
        "metadata": params.get("metadata", {}),
        "created": now(),
        "livemode": False,
    }
    return store.put(P, "product", product["id"], product)


def price_create(params):
    recurring = params.get("recurring") or {}
    price = shape(P, "price") | {
        "id": new_id("price_"),
        "product": params["product"],
        "currency": params["currency"].lower(),
        "unit_amount": int(params.get("unit_amount", 0)),
        "unit_amount_decimal": str(params.get("unit_amount", 0)),
        "type": "recurring" if recurring else "one_time",
        "created": now(),
        "livemode": False,
        "recurring": {
            "interval": recurring.get("interval", "month"),
            "interval_count": 1,
            "meter": recurring.get("meter"),
            "usage_type": recurring.get("usage_type", "licensed"),
            "trial_period_days": None,
        }
        if recurring
        else None,
    }
    return store.put(P, "price", price["id"], price)


def price_get(params, id):
    return _get("price", id)


def customer_create(params):
    customer = shape(P, "customer") | {
        "id": new_id("cus_", 14),
        "email": params.get("email"),
        "created": now(),
        "metadata": params.get("metadata", {}),
        "discount": None,
        "livemode": False,
    }
    return store.put(P, "customer", customer["id"], customer)


# --- checkout -------------------------------------------------------------------------------
def session_create(params):
    if params.get("mode") != "subscription":
        raise StripeSandboxError(400, "The sandbox supports mode=subscription only.", "parameter_invalid")
    items = params.get("line_items") or []
    if not items:
        raise StripeSandboxError(400, "Missing required param: line_items.", "parameter_missing")
    prices = [_get("price", item["price"]) for item in items]
    base = [p for p in prices if (p.get("recurring") or {}).get("usage_type") != "metered"]
    session_id = new_id("cs_test_", 58)
    session = shape(P, "checkout.session") | {
        "id": session_id,
        "object": "checkout.session",
        "mode": "subscription",
        "status": "open",
        "payment_status": "unpaid",
        "created": now(),
        "expires_at": now() + 86400,
        "livemode": False,
        "amount_subtotal": sum(p["unit_amount"] for p in base),
        "amount_total": sum(p["unit_amount"] for p in base),
        "currency": prices[0]["currency"],
        "customer": params.get("customer"),
        "customer_email": params.get("customer_email"),
        "client_reference_id": params.get("client_reference_id"),
        "metadata": params.get("metadata", {}),
        "success_url": params["success_url"],
        "cancel_url": params.get("cancel_url"),
        "subscription": None,
        "invoice": None,
        "payment_intent": None,
        "url": settings.SITE_URL + reverse("sandbox:checkout", args=[P, session_id]),
        "line_items_sandbox": [{"price": p["id"]} for p in prices],
        "subscription_data_sandbox": params.get("subscription_data", {}),
    }
    return store.put(P, "checkout.session", session_id, session)


def session_get(params, id):
    return _get("checkout.session", id)


def session_expire(params, id):
    session = _get("checkout.session", id)
    if session["status"] != "open":
        raise StripeSandboxError(
            400, "Only Checkout Sessions with a status in open can be expired.", "checkout_session_not_open"
        )
    session["status"] = "expired"
    return store.put(P, "checkout.session", id, session)


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


def invoice_get(params, id):
    return _get("invoice", id)


def refund_create(params):
    charge_id = params.get("charge")
    charge = _get("charge", charge_id) if charge_id else None
    if charge is None:
        raise StripeSandboxError(400, "The sandbox refunds charges (charge=ch_…).", "parameter_missing")
    amount = int(params.get("amount", charge["amount"] - charge.get("amount_refunded", 0)))
    if amount > charge["amount"] - charge.get("amount_refunded", 0):
        raise StripeSandboxError(400, "Refund amount is greater than unrefunded amount on charge.", "amount_too_large")
    refund = shape(P, "refund") | {
        "id": new_id("re_"),
        "amount": amount,
        "charge": charge_id,
        "currency": charge["currency"],
        "status": "succeeded",
        "created": now(),
    }
    store.put(P, "refund", refund["id"], refund)
    charge["amount_refunded"] = charge.get("amount_refunded", 0) + amount
    charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
    store.put(P, "charge", charge_id, charge)
    emit.stripe_emit("charge.refunded", charge)
    return refund


def refund_list(params):
    rows = [r for r in store.all_of(P, "refund") if not params.get("charge") or r["charge"] == params["charge"]]
    return {"object": "list", "data": rows, "has_more": False, "url": "/v1/refunds"}


def invoice_payment_list(params):
    invoice = _get("invoice", params.get("invoice", ""))
    charge = invoice.get("charge_sandbox")
    rows = (
        []
        if not charge
        else [
            {
                "id": "inpay_" + charge.removeprefix("ch_"),
                "object": "invoice_payment",
                "invoice": invoice["id"],
                "amount_paid": invoice["amount_paid"],
                "currency": invoice["currency"],
                "is_default": True,
                "status": "paid",
                "payment": {"type": "charge", "charge": charge},
                "livemode": False,
            }
        ]
    )
    return {"object": "list", "data": rows, "has_more": False, "url": "/v1/invoice_payments"}


def portal_create(params):
    session = shape(P, "billing_portal.session") | {
        "id": new_id("bps_"),
        "customer": params["customer"],
        "created": now(),
        "return_url": params.get("return_url"),
        "flow": None,
        "livemode": False,
    }
    session["url"] = settings.SITE_URL + reverse("sandbox:portal", args=[P, session["id"]])
    return store.put(P, "billing_portal.session", session["id"], session)


# --- v2 meter events ------------------------------------------------------------------------
def meter_event_create(params):
    for field in ("event_name", "payload"):
        if field not in params:
            raise StripeSandboxError(400, f"Missing required field {field}.")
    identifier = params.get("identifier") or new_id("mev_")
    existing = store.get(P, "billing.meter_event", identifier)
    if existing is not None:
        return existing  # Stripe deduplicates on identifier: the second report counts nothing
    event = {
        "object": "v2.billing.meter_event",
        "created": params.get("timestamp"),
        "event_name": params["event_name"],
        "identifier": identifier,
        "livemode": False,
        "payload": params["payload"],
        "timestamp": params.get("timestamp"),
    }
    return store.put(P, "billing.meter_event", identifier, event)
