"""Paystack subscriptions (mixin of ``PaystackProvider``): status mapping, fetch and look-up,
enable/disable, and the plan change Paystack has no in-place API for."""

from __future__ import annotations

from datetime import datetime

from billing.providers.base import (
    ProviderUnavailable,
    SubscriptionInfo,
)

# Paystack subscription statuses → ours. "non-renewing" is active until the period ends.
_STATUS = {
    "active": "active",
    "non-renewing": "active",
    "attention": "past_due",
    "completed": "canceled",
    "complete": "canceled",
    "cancelled": "canceled",
    "canceled": "canceled",
}
_LIVE = ("active", "non-renewing", "attention")


def _dt(value) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


class PaystackSubscriptions:
    """The subscription half of ``PaystackProvider`` (uses its ``_request``, ``api`` and
    ``ensure_plan``)."""

    # --- subscriptions ----------------------------------------------------------------------
    def _subscription_info(self, data: dict) -> SubscriptionInfo:
        plan = data.get("plan") or {}
        customer = data.get("customer") or {}
        status = data.get("status", "")
        return SubscriptionInfo(
            id=data["subscription_code"],
            status=_STATUS.get(status, "incomplete"),
            customer_id=customer.get("customer_code", "") if isinstance(customer, dict) else "",
            cancel_at_period_end=status == "non-renewing",
            current_period_start=_dt(data.get("createdAt"))
            if not data.get("period_start")
            else _dt(data["period_start"]),
            current_period_end=_dt(data.get("next_payment_date")),
            price_ref=plan.get("plan_code", "") if isinstance(plan, dict) else "",
            email_token=data.get("email_token", ""),
        )

    def fetch_subscription(self, *, subscription_id):
        return self._subscription_info(self._request("GET", f"/subscription/{subscription_id}"))

    def _subscriptions(self, customer_id: str, price_ref: str) -> list[dict]:
        rows = self._request("GET", "/subscription", params={"customer": customer_id, "plan": price_ref})
        return [row for row in rows if isinstance(row, dict)] if isinstance(rows, list) else []

    def find_subscription(self, *, customer_id, price_ref):
        rows = [row for row in self._subscriptions(customer_id, price_ref) if row.get("status") in _LIVE]
        return self._subscription_info(rows[0]) if rows else None

    def live_subscriptions(self, *, customer_id, price_ref):
        return [
            self._subscription_info(row)
            for row in self._subscriptions(customer_id, price_ref)
            if row.get("status") in _LIVE
        ]

    def _set_state(self, action: str, subscription_id: str, email_token: str, reached: tuple[str, ...]) -> None:
        """enable/disable: repeating one is harmless but refused; after an unknown outcome the
        subscription's status tells whether it was applied."""

        def find():
            status = self._request("GET", f"/subscription/{subscription_id}").get("status")
            return {} if status in reached else None

        self.api.create_once(f"/subscription/{action}", {"code": subscription_id, "token": email_token}, find=find)

    def cancel_subscription(self, *, subscription_id, email_token="", at_period_end=True):
        # Paystack's "disable" stops renewals; access until the paid period ends is ours to grant.
        self._set_state("disable", subscription_id, email_token, ("complete", "completed", "cancelled", "non-renewing"))

    def resume_subscription(self, *, subscription_id, email_token=""):
        self.enable_subscription(subscription_id=subscription_id, email_token=email_token)

    def enable_subscription(self, *, subscription_id, email_token):
        self._set_state("enable", subscription_id, email_token, ("active",))

    def change_subscription_price(self, *, subscription_id, price, prorate):
        """Paystack has no in-place plan change: create a subscription on the new plan with the
        saved authorization, then disable the old one (in that order, so a failure leaves the
        customer subscribed to one of them). The caller charges the proration (charge_usage)."""
        old = self._request("GET", f"/subscription/{subscription_id}")
        customer = old.get("customer") or {}
        customer_ref = str(customer.get("customer_code") or customer.get("email") or "")
        plan_code = self.ensure_plan(plan=price.plan, price=price)

        def find():
            rows = [
                row
                for row in self._subscriptions(customer_ref, plan_code)
                if row.get("status") == "active" and row.get("subscription_code") != subscription_id
            ]
            return rows[-1] if rows else None

        data = self.api.create_once(
            "/subscription",
            {
                "customer": customer_ref,
                "plan": plan_code,
                "start_date": old.get("next_payment_date"),
                "authorization": (old.get("authorization") or {}).get("authorization_code", ""),
            },
            find=find,
        )
        superseded = ""
        try:
            self.cancel_subscription(subscription_id=subscription_id, email_token=old.get("email_token", ""))
        except ProviderUnavailable:
            superseded = subscription_id
        try:
            info = self.fetch_subscription(subscription_id=data["subscription_code"])
        except ProviderUnavailable:
            info = self._subscription_info(data)
        return SubscriptionInfo(**{**info.__dict__, "superseded_id": superseded})
