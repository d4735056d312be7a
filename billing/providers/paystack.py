"""Paystack through its JSON API (``paystack_http``: pooled client, a retry policy that never
repeats what may have been applied, look-up before re-sending)."""

from __future__ import annotations

import hashlib
import hmac
import json

import httpx

from billing.providers.base import (
    CheckoutSession,
    ParsedEvent,
    PaymentInfo,
    PaymentProvider,
    ProviderError,
    ProviderOutcomeUnknown,
    ProviderUnavailable,
    SignatureInvalid,
)
from billing.providers.paystack_http import API_BASE, PaystackClient, ReferenceInUse
from billing.providers.paystack_subscriptions import PaystackSubscriptions

_INTERVALS = {"month": "monthly", "year": "annually"}


class PaystackProvider(PaystackSubscriptions, PaymentProvider):
    name = "paystack"

    def __init__(
        self, *, secret_key: str, transport: httpx.BaseTransport | None = None, base_url: str = API_BASE
    ) -> None:
        self.secret_key = secret_key
        self.api = PaystackClient(secret_key=secret_key, transport=transport, base_url=base_url)
        self.http = self.api.http

    def _request(
        self,
        method: str,
        path: str,
        *,
        json_body: dict | None = None,
        params: dict | None = None,
        deduplicated: bool = False,
    ):
        return self.api.request(method, path, json_body=json_body, params=params, deduplicated=deduplicated)

    # --- checkout ---------------------------------------------------------------------------
    def ensure_plan(self, *, plan, price) -> str:
        """The Paystack plan code for our Price, creating the plan at Paystack the first time
        (after looking for one an earlier attempt created but never heard back about)."""
        if price.paystack_plan_code:
            return price.paystack_plan_code
        body = {
            "name": f"{plan.name} ({price.currency})",
            "amount": price.amount_minor,
            "interval": _INTERVALS.get(price.interval, "monthly"),
            "currency": price.currency,
        }
        data = self._plan_find(body) or self.api.create_once("/plan", body, find=lambda: self._plan_find(body))
        price.paystack_plan_code = data["plan_code"]
        price.save(update_fields=["paystack_plan_code"])
        return price.paystack_plan_code

    def _plan_find(self, body: dict) -> dict | None:
        rows = self._request(
            "GET", "/plan", params={"amount": body["amount"], "interval": body["interval"], "perPage": 100}
        )
        wanted = (body["name"], body["amount"], body["currency"].upper())
        same = [
            row
            for row in (rows if isinstance(rows, list) else [])
            if isinstance(row, dict)
            and not row.get("is_deleted")
            and not row.get("is_archived")
            and (row.get("name"), int(row.get("amount") or 0), str(row.get("currency", "")).upper()) == wanted
        ]
        return same[0] if same else None

    def create_checkout(self, *, org, plan, price, customer_email, customer_id, success_url, cancel_url, reference):
        try:
            data = self._request(
                "POST",
                "/transaction/initialize",
                deduplicated=True,
                json_body={
                    "email": customer_email,
                    "amount": price.amount_minor,
                    "currency": price.currency,
                    "reference": reference,
                    "callback_url": success_url,
                    "plan": self.ensure_plan(plan=plan, price=price),
                    "metadata": {
                        "org_id": org.pk,
                        "plan": plan.code,
                        "price_id": price.pk,
                        "cancel_action": cancel_url,
                    },
                },
            )
        except ReferenceInUse as exc:
            # An earlier attempt initialized it and its answer (the payment page) was lost.
            # Nothing was charged; the next attempt uses a new reference.
            raise ProviderUnavailable("Paystack did not answer in time; please start the checkout again.") from exc
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
            authorization_code=authorization.get("authorization_code", "")
            if authorization.get("reusable", True)
            else "",
            metadata=metadata if isinstance(metadata, dict) else {},  # old payloads send 0 or ""
            plan_ref=plan if isinstance(plan := data.get("plan") or "", str) else plan.get("plan_code", ""),
        )

    def refund(self, *, reference, amount_minor=None):
        body: dict = {"transaction": reference}
        if amount_minor is not None:
            body["amount"] = amount_minor
        before = {str(row.get("id")) for row in self._refunds(reference)}

        def find():
            new = [
                row
                for row in self._refunds(reference)
                if str(row.get("id")) not in before
                and (amount_minor is None or int(row.get("amount") or 0) == amount_minor)
            ]
            return new[0] if new else None

        return str(self.api.create_once("/refund", body, find=find).get("id", ""))

    def _refunds(self, reference: str) -> list[dict]:
        rows = self._request("GET", "/refund", params={"reference": reference, "perPage": 100})
        # Paystack filters by the transaction reference; rows that name another one are dropped.
        return (
            [row for row in rows if isinstance(row, dict) and _refund_reference(row) in ("", reference)]
            if isinstance(rows, list)
            else []
        )

    def refunded_minor(self, *, reference):
        return sum(int(row.get("amount") or 0) for row in self._refunds(reference) if row.get("status") != "failed")

    # --- usage ------------------------------------------------------------------------------
    def report_usage(self, **kwargs):
        return False  # usage is charged at period close with charge_usage (charge_authorization)

    def charge_usage(self, *, customer_email, authorization_code, amount_minor, currency, reference):
        try:
            data = self._request(
                "POST",
                "/transaction/charge_authorization",
                deduplicated=True,
                json_body={
                    "email": customer_email,
                    "authorization_code": authorization_code,
                    "amount": amount_minor,
                    "currency": currency,
                    "reference": reference,
                },
            )
        except (ReferenceInUse, ProviderOutcomeUnknown) as exc:
            # An earlier attempt with this reference may have charged the card (its answer was
            # lost, or this is a double submission): Paystack's record of it is the truth.
            data = self._charge_verify(reference, exc)
        if data.get("status") != "success":
            raise ProviderError(f"Paystack: charge {data.get('status')}: {data.get('gateway_response', '')}")
        return PaymentInfo(
            reference=data.get("reference", reference),
            paid=True,
            amount_minor=int(data["amount"]),
            currency=(data.get("currency") or currency).upper(),
        )

    def _charge_verify(self, reference: str, cause: ProviderError | ProviderUnavailable) -> dict:
        try:
            data = self._request("GET", f"/transaction/verify/{reference}")
        except ProviderError as exc:  # no such transaction: nothing was charged
            if isinstance(cause, ReferenceInUse):
                raise
            raise ProviderUnavailable(f"Paystack: the charge {reference} did not go through.") from exc
        except ProviderUnavailable as exc:
            raise ProviderOutcomeUnknown(
                f"Paystack: charge {reference}: {cause.detail}; verifying it failed: {exc.detail}"
            ) from exc
        if data.get("status") not in ("success", "failed", "reversed"):
            raise ProviderOutcomeUnknown(f"Paystack: charge {reference} is still {data.get('status')}.")
        return data

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
        return ParsedEvent(
            id=paystack_event_id(kind, data, body),
            type=kind,
            object=data,
            object_ref=subscription or "",
            sequenced=bool(subscription),
        )


def _refund_reference(row: dict) -> str:
    transaction = row.get("transaction")
    nested = transaction.get("reference") if isinstance(transaction, dict) else None
    return str(row.get("transaction_reference") or nested or "")


def paystack_event_id(kind: str, data: dict, body: bytes) -> str:
    """Paystack events carry no id: derive a stable one from what makes the event unique, so a
    redelivery (same event about the same object in the same state) deduplicates."""
    key: str | None
    if kind.startswith("charge.dispute"):
        key = f"{data.get('id')}:{data.get('status')}"
    elif kind.startswith("charge."):
        key = data.get("reference") or data.get("id")
    elif kind.startswith("subscription."):
        # The state it reports (and its time when the payload has one) is part of its identity;
        # webhook intake sequences identical ones (cancel → resume → cancel).
        code = data.get("subscription_code")
        stamp = data.get("updatedAt") or data.get("updated_at") or ""
        key = ":".join(str(part) for part in (code, data.get("status"), stamp) if part) if code else None
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
