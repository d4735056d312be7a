"""Sandbox Stripe API: the endpoints Tollgate uses, with Stripe's object shapes and errors."""

from __future__ import annotations

import re

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse

from sandbox import emit, store
from sandbox.store import new_id, shape
from sandbox.stripe_core import P, StripeSandboxError, _get, now

# Route handlers are dispatched by name (ROUTES, globals()), so they are imported here.
from sandbox.stripe_subscriptions import subscription_cancel, subscription_get, subscription_list, subscription_update  # noqa: F401


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
