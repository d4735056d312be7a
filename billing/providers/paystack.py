"""Paystack through its JSON API with httpx (pooled client, timeouts, retries)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import datetime

import httpx

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

API_BASE = "https://api.paystack.co"
RETRIES = 2  # on connect errors and 5xx; every POST we send carries a reference, so a retry cannot double-charge

# Paystack subscription statuses → ours. "non-renewing" is active until the period ends.
_STATUS = {"active": "active", "non-renewing": "active", "attention": "past_due", "completed": "canceled",
           "complete": "canceled", "cancelled": "canceled", "canceled": "canceled"}
_INTERVALS = {"month": "monthly", "year": "annually"}


def _dt(value) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


class PaystackProvider(PaymentProvider):
    name = "paystack"

    def __init__(self, *, secret_key: str, transport: httpx.BaseTransport | None = None, base_url: str = API_BASE) -> None:
        self.secret_key = secret_key
        self.http = httpx.Client(
            base_url=base_url,
            headers={"Authorization": f"Bearer {secret_key}", "Content-Type": "application/json"},
            timeout=httpx.Timeout(10.0, connect=5.0),
            limits=httpx.Limits(max_connections=20, max_keepalive_connections=10),
            transport=transport or httpx.HTTPTransport(retries=RETRIES),
        )

    def _request(self, method: str, path: str, *, json_body: dict | None = None, params: dict | None = None) -> dict:
        last_error: Exception | None = None
        for attempt in range(RETRIES + 1):
            try:
                response = self.http.request(method, path, json=json_body, params=params)
            except (httpx.ConnectError, httpx.TimeoutException) as exc:
                last_error = exc
            else:
                if response.status_code < 500:
                    try:
                        body = response.json()
                    except ValueError as exc:
                        raise ProviderUnavailable("Paystack answered with a non-JSON body") from exc
                    if response.status_code >= 400 or not body.get("status"):
                        raise ProviderError(f"Paystack: {body.get('message', response.status_code)}")
                    return body.get("data") or {}
                last_error = ProviderUnavailable(f"Paystack answered {response.status_code}")
            if attempt < RETRIES:
                time.sleep(0.2 * 2**attempt)
        raise ProviderUnavailable(f"Paystack: {last_error}")

    # --- checkout ---------------------------------------------------------------------------
    def ensure_plan(self, *, plan, price) -> str:
        """The Paystack plan code for our Price, creating the plan at Paystack the first time."""
        if price.paystack_plan_code:
            return price.paystack_plan_code
        data = self._request("POST", "/plan", json_body={
            "name": f"{plan.name} ({price.currency})", "amount": price.amount_minor,
            "interval": _INTERVALS.get(price.interval, "monthly"), "currency": price.currency,
        })
        price.paystack_plan_code = data["plan_code"]
        price.save(update_fields=["paystack_plan_code"])
        return price.paystack_plan_code

    def create_checkout(self, *, org, plan, price, customer_email, customer_id, success_url, cancel_url, reference):
        data = self._request("POST", "/transaction/initialize", json_body={
            "email": customer_email, "amount": price.amount_minor, "currency": price.currency,
            "reference": reference, "callback_url": success_url,
            "plan": self.ensure_plan(plan=plan, price=price),
            "metadata": {"org_id": org.pk, "plan": plan.code, "price_id": price.pk, "cancel_action": cancel_url},
        })
        return CheckoutSession(reference=data.get("reference") or reference, url=data["authorization_url"])

    def fetch_payment(self, *, reference):
        data = self._request("GET", f"/transaction/verify/{reference}")
        metadata = data.get("metadata")
        authorization = data.get("authorization") or {}
        return PaymentInfo(
            reference=data.get("reference", reference),
            paid=data.get("status") == "success",
            amount_minor=int(data["amount"]) if data.get("amount") is not None else None,
            currency=(data.get("currency") or "").upper(),
            customer_id=(data.get("customer") or {}).get("customer_code", ""),
            authorization_code=authorization.get("authorization_code", "") if authorization.get("reusable", True) else "",
            metadata=metadata if isinstance(metadata, dict) else {},  # old payloads send 0 or ""
        )

    # --- subscriptions ----------------------------------------------------------------------
    def _subscription_info(self, data: dict) -> SubscriptionInfo:
        plan = data.get("plan") or {}
        customer = data.get("customer") or {}
        status = data.get("status", "")
        return SubscriptionInfo(
            id=data["subscription_code"], status=_STATUS.get(status, "incomplete"),
            customer_id=customer.get("customer_code", "") if isinstance(customer, dict) else "",
            cancel_at_period_end=status == "non-renewing",
            current_period_start=_dt(data.get("createdAt")) if not data.get("period_start") else _dt(data["period_start"]),
            current_period_end=_dt(data.get("next_payment_date")),
            price_ref=plan.get("plan_code", "") if isinstance(plan, dict) else "",
            email_token=data.get("email_token", ""),
        )

    def fetch_subscription(self, *, subscription_id):
        return self._subscription_info(self._request("GET", f"/subscription/{subscription_id}"))

    def find_subscription(self, *, customer_id, price_ref):
        rows = self._request("GET", "/subscription", params={"customer": customer_id, "plan": price_ref})
        for row in rows if isinstance(rows, list) else []:
            if row.get("status") in ("active", "non-renewing", "attention"):
                return self._subscription_info(row)
        return None

    def cancel_subscription(self, *, subscription_id, email_token="", at_period_end=True):
        # Paystack's "disable" stops renewals; access until the paid period ends is ours to grant.
        self._request("POST", "/subscription/disable", json_body={"code": subscription_id, "token": email_token})

    def resume_subscription(self, *, subscription_id, email_token=""):
        self.enable_subscription(subscription_id=subscription_id, email_token=email_token)

    def enable_subscription(self, *, subscription_id, email_token):
        self._request("POST", "/subscription/enable", json_body={"code": subscription_id, "token": email_token})

    def change_subscription_price(self, *, subscription_id, price, prorate):
        """Paystack has no in-place plan change: disable the old subscription and create one on the
        new plan with the saved authorization. The caller charges the proration (charge_usage)."""
        old = self._request("GET", f"/subscription/{subscription_id}")
        self.cancel_subscription(subscription_id=subscription_id, email_token=old.get("email_token", ""))
        customer = old.get("customer") or {}
        authorization = (old.get("authorization") or {}).get("authorization_code", "")
        data = self._request("POST", "/subscription", json_body={
            "customer": customer.get("customer_code") or customer.get("email"),
            "plan": self.ensure_plan(plan=price.plan, price=price), "authorization": authorization,
            "start_date": old.get("next_payment_date"),
        })
        return self.fetch_subscription(subscription_id=data["subscription_code"])

    def refund(self, *, reference, amount_minor=None):
        body = {"transaction": reference}
        if amount_minor is not None:
            body["amount"] = amount_minor
        data = self._request("POST", "/refund", json_body=body)
        return str(data.get("id", ""))

    # --- usage ------------------------------------------------------------------------------
    def report_usage(self, **kwargs):
        return False  # usage is charged at period close with charge_usage (charge_authorization)

    def charge_usage(self, *, customer_email, authorization_code, amount_minor, currency, reference):
        data = self._request("POST", "/transaction/charge_authorization", json_body={
            "email": customer_email, "authorization_code": authorization_code, "amount": amount_minor,
            "currency": currency, "reference": reference,
        })
        if data.get("status") != "success":
            raise ProviderError(f"Paystack: charge {data.get('status')}: {data.get('gateway_response', '')}")
        return PaymentInfo(reference=data.get("reference", reference), paid=True, amount_minor=int(data["amount"]),
                           currency=data.get("currency", currency).upper())

    def create_portal_session(self, *, customer_id, subscription_id, return_url):
        return self._request("GET", f"/subscription/{subscription_id}/manage/link")["link"]

    # --- webhooks ---------------------------------------------------------------------------
    def verify_and_parse_webhook(self, *, body, headers):
        signature = headers.get("x-paystack-signature") or headers.get("X-Paystack-Signature") or ""
        expected = hmac.new(self.secret_key.encode(), body, hashlib.sha512).hexdigest()
        if not signature or not hmac.compare_digest(expected, signature.strip().lower()):
            raise SignatureInvalid("x-paystack-signature does not match the body")
        try:
            event = json.loads(body)
            kind, data = event["event"], event["data"]
        except (ValueError, KeyError, TypeError) as exc:
            raise SignatureInvalid(f"unparsable event: {exc}") from exc
        if not isinstance(data, dict):  # e.g. subscription.expiring_cards sends a list
            data = {"items": data}
        subscription = kind.startswith("subscription.") and str(data.get("subscription_code") or "")
        return ParsedEvent(id=paystack_event_id(kind, data, body), type=kind, object=data,
                           object_ref=subscription or "", sequenced=bool(subscription))


def paystack_event_id(kind: str, data: dict, body: bytes) -> str:
    """Paystack events carry no id: derive a stable one from what makes the event unique, so a
    redelivery (same event about the same object in the same state) deduplicates."""
    if kind.startswith("charge.dispute"):
        key = f"{data.get('id')}:{data.get('status')}"
    elif kind.startswith("charge."):
        key = data.get("reference") or data.get("id")
    elif kind.startswith("subscription."):
        # The state it reports (and its time when the payload has one) is part of its identity;
        # webhook intake sequences identical ones (cancel → resume → cancel).
        code = data.get("subscription_code")
        stamp = data.get("updatedAt") or data.get("updated_at") or ""
        key = code and ":".join(str(part) for part in (code, data.get("status") or "", stamp) if part)
    elif kind.startswith("invoice."):
        key = f"{data.get('invoice_code')}:{data.get('status')}:{data.get('paid')}"
    elif kind.startswith("refund."):
        # One transaction can have several partial refunds: never key on the transaction
        # (a second refund would be dropped as a duplicate); without a refund id, the body
        # hash below still makes an identical redelivery a duplicate.
        key = data.get("refund_reference") or data.get("id")
    else:
        key = None
    if not key or key == "None":
        key = hashlib.sha256(body).hexdigest()[:40]
    return f"{kind}:{key}"
