"""Sandbox Paystack API: the endpoints Tollgate uses, with Paystack's documented shapes."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.urls import reverse

from sandbox import emit, store
from sandbox.cards import card_outcome
from sandbox.paystack_core import P, PaystackSandboxError, _get, iso, ok
from sandbox.store import new_id, shape

ROUTES = [
    ("POST", r"/plan", "plan_create"),
    ("GET", r"/plan", "plan_list"),
    ("GET", r"/plan/(?P<code>[^/]+)", "plan_get"),
    ("POST", r"/transaction/initialize", "transaction_initialize"),
    ("GET", r"/transaction/verify/(?P<reference>[^/]+)", "transaction_verify"),
    ("POST", r"/transaction/charge_authorization", "charge_authorization"),
    ("GET", r"/subscription", "subscription_list"),
    ("POST", r"/subscription", "subscription_create"),
    ("POST", r"/subscription/disable", "subscription_disable"),
    ("POST", r"/subscription/enable", "subscription_enable"),
    ("GET", r"/subscription/(?P<code>[^/]+)/manage/link", "subscription_manage_link"),
    ("GET", r"/subscription/(?P<code>[^/]+)", "subscription_get"),
    ("POST", r"/refund", "refund_create"),
    ("GET", r"/refund", "refund_list"),
]


def handle(method: str, path: str, params: dict, body: dict) -> tuple[int, dict]:
    try:
        for verb, pattern, name in ROUTES:
            match = re.fullmatch(pattern, path)
            if verb == method and match:
                return 200, globals()[name](params, body, **match.groupdict())
        raise PaystackSandboxError(404, f"Route not found: {method} {path}")
    except PaystackSandboxError as exc:
        return exc.status, exc.body
    except (KeyError, ValueError, TypeError) as exc:
        return 400, {"status": False, "message": f"Invalid request: {exc}"}


# --- plans ----------------------------------------------------------------------------------
def plan_create(params, body):
    plan = shape(P, "plans-create") | {
        "name": body["name"],
        "amount": int(body["amount"]),
        "interval": body["interval"],
        "currency": body.get("currency", "NGN"),
        "plan_code": "PLN_" + new_id("", 15).lower(),
        "id": secrets.randbelow(10**6),
        "createdAt": iso(datetime.now(UTC)),
        "updatedAt": iso(datetime.now(UTC)),
    }
    store.put(P, "plan", plan["plan_code"], plan)
    return ok("Plan created", plan)


def plan_list(params, body):
    rows = [
        p
        for p in store.all_of(P, "plan")
        if (not params.get("amount") or int(params["amount"]) == p["amount"])
        and (not params.get("interval") or params["interval"] == p["interval"])
    ]
    return ok("Plans retrieved", rows)


def plan_get(params, body, code):
    return ok("Plan retrieved", _get("plan", code))


# --- transactions ---------------------------------------------------------------------------
def _customer(email: str) -> dict:
    for customer in store.all_of(P, "customer"):
        if customer["email"] == email:
            return customer
    customer = {
        "id": secrets.randbelow(10**8),
        "first_name": None,
        "last_name": None,
        "email": email,
        "customer_code": "CUS_" + new_id("", 15).lower(),
        "phone": None,
        "metadata": None,
        "risk_action": "default",
        "international_format_phone": None,
    }
    return store.put(P, "customer", customer["customer_code"], customer)


def transaction_initialize(params, body):
    reference = body.get("reference") or new_id("", 10).lower()
    if store.get(P, "transaction", reference) is not None:
        raise PaystackSandboxError(400, "Duplicate Transaction Reference")
    amount = int(body["amount"])
    plan = store.get(P, "plan", body["plan"]) if body.get("plan") else None
    if body.get("plan") and plan is None:
        raise PaystackSandboxError(400, "Plan not found")
    if plan:
        amount = plan["amount"]  # Paystack charges the plan amount, whatever amount says
    access_code = new_id("", 15).lower()
    now = datetime.now(UTC)
    transaction = shape(P, "transactions-verify") | {
        "id": secrets.randbelow(10**10),
        "domain": "test",
        "status": "abandoned",
        "reference": reference,
        "amount": amount,
        "requested_amount": amount,
        "currency": body.get("currency", "NGN"),
        "gateway_response": "The transaction was not completed",
        "paid_at": None,
        "paidAt": None,
        "created_at": iso(now),
        "createdAt": iso(now),
        "transaction_date": iso(now),
        "metadata": body.get("metadata") or "",
        "customer": _customer(body["email"]),
        "authorization": {},
        "plan": body.get("plan"),
        "fees": None,
        "log": None,
        "callback_url_sandbox": body.get("callback_url", ""),
        "access_code_sandbox": access_code,
    }
    store.put(P, "transaction", reference, transaction)
    url = settings.SITE_URL + reverse("sandbox:checkout", args=[P, reference])
    return ok(
        "Authorization URL created", {"authorization_url": url, "access_code": access_code, "reference": reference}
    )


def transaction_verify(params, body, reference):
    transaction = _get("transaction", reference)
    public = {k: v for k, v in transaction.items() if not k.endswith("_sandbox")}
    return ok("Verification successful", public)


def charge_authorization(params, body):
    authorization = store.get(P, "authorization", body["authorization_code"])
    if authorization is None:
        raise PaystackSandboxError(400, "Invalid authorization code")
    reference = body.get("reference") or new_id("", 12).lower()
    if store.get(P, "transaction", reference) is not None:
        raise PaystackSandboxError(400, "Duplicate Transaction Reference")
    outcome = card_outcome(authorization["card_sandbox"])
    now = datetime.now(UTC)
    transaction = shape(P, "transactions-verify") | {
        "id": secrets.randbelow(10**10),
        "reference": reference,
        "amount": int(body["amount"]),
        "requested_amount": int(body["amount"]),
        "currency": body.get("currency", "NGN"),
        "status": "success" if outcome == "succeeded" else "failed",
        "gateway_response": "Approved" if outcome == "succeeded" else "Declined",
        "paid_at": iso(now) if outcome == "succeeded" else None,
        "created_at": iso(now),
        "customer": _customer(body["email"]),
        "authorization": {k: v for k, v in authorization.items() if not k.endswith("_sandbox")},
        "metadata": body.get("metadata") or "",
        "plan": None,
    }
    store.put(P, "transaction", reference, transaction)
    if outcome == "succeeded":
        emit.paystack_emit("charge.success", transaction)
    return ok("Charge attempted", transaction)


# --- subscriptions --------------------------------------------------------------------------
def subscription_new(*, customer: dict, plan: dict, authorization: dict, start: datetime | None = None) -> dict:
    start = start or datetime.now(UTC)
    sub = shape(P, "subscriptions-fetch") | {
        "id": secrets.randbelow(10**6),
        "domain": "test",
        "status": "active",
        "subscription_code": "SUB_" + new_id("", 15).lower(),
        "email_token": new_id("", 15).lower(),
        "amount": plan["amount"],
        "cron_expression": f"0 0 {min(start.day, 28)} * *",
        "next_payment_date": iso(start + timedelta(days=30)),
        "open_invoice": None,
        "createdAt": iso(start),
        "period_start": iso(start),
        "plan": plan,
        "customer": customer,
        "authorization": {k: v for k, v in authorization.items() if not k.endswith("_sandbox")},
        "invoices": [],
    }
    store.put(P, "subscription", sub["subscription_code"], sub)
    return sub


def subscription_list(params, body):
    rows = [
        s
        for s in store.all_of(P, "subscription")
        if (
            not params.get("customer")
            or params["customer"] in (s["customer"]["customer_code"], str(s["customer"]["id"]))
        )
        and (not params.get("plan") or params["plan"] in (s["plan"]["plan_code"], str(s["plan"].get("id"))))
    ]
    return ok("Subscriptions retrieved", rows)


def subscription_get(params, body, code):
    return ok("Subscription retrieved successfully", _get("subscription", code))


def subscription_create(params, body):
    customer = next(
        (c for c in store.all_of(P, "customer") if body["customer"] in (c["customer_code"], c["email"])), None
    )
    if customer is None:
        raise PaystackSandboxError(404, "Customer not found")
    plan = _get("plan", body["plan"])
    authorization = store.get(P, "authorization", body.get("authorization", "")) or PaystackSandboxError(
        404, "The customer specified has no saved authorizations"
    )
    if isinstance(authorization, Exception):
        raise authorization
    start = datetime.fromisoformat(body["start_date"].replace("Z", "+00:00")) if body.get("start_date") else None
    sub = subscription_new(customer=customer, plan=plan, authorization=authorization, start=start)
    emit.paystack_emit("subscription.create", sub)
    return ok("Subscription successfully created", sub)


def subscription_disable(params, body):
    sub = _get("subscription", body["code"])
    if body.get("token") != sub["email_token"]:
        raise PaystackSandboxError(400, "Subscription with code not found or already inactive")
    sub["status"] = "complete"
    store.put(P, "subscription", sub["subscription_code"], sub)
    emit.paystack_emit("subscription.disable", sub)
    return {"status": True, "message": "Subscription disabled successfully"}


def subscription_enable(params, body):
    sub = _get("subscription", body["code"])
    if body.get("token") != sub["email_token"]:
        raise PaystackSandboxError(400, "Subscription with code not found or already active")
    sub["status"] = "active"
    store.put(P, "subscription", sub["subscription_code"], sub)
    emit.paystack_emit("subscription.enable", sub)
    return {"status": True, "message": "Subscription enabled successfully"}


def subscription_manage_link(params, body, code):
    _get("subscription", code)
    return ok("Link generated", {"link": settings.SITE_URL + reverse("sandbox:portal", args=[P, code])})


def refund_create(params, body):
    transaction = _get("transaction", body["transaction"])
    if transaction["status"] != "success":
        raise PaystackSandboxError(400, "Transaction has not been completed")
    amount = int(body.get("amount", transaction["amount"]))
    refund = {
        "id": secrets.randbelow(10**7),
        "transaction_reference": transaction["reference"],
        "refund_reference": str(secrets.randbelow(10**12)),
        "amount": str(amount),
        "currency": transaction["currency"],
        "status": "processed",
        "customer": transaction["customer"],
        "domain": "test",
    }
    store.put(P, "refund", str(refund["id"]), refund)
    emit.paystack_emit("refund.processed", refund)
    return ok("Refund has been queued for processing", refund)


def refund_list(params, body):
    rows = [
        r
        for r in store.all_of(P, "refund")
        if not params.get("reference") or r["transaction_reference"] == params["reference"]
    ]
    return ok("Refunds retrieved", rows)
