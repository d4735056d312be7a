"""Writes for plans, prices, meters and subscriptions."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from plans.models import Meter, MeterPrice, OperationMeter, OveragePolicy, Plan, Price, UnitsMode

ENTITLEMENTS_TTL = 86_400

# The seed article's tiers and pay-as-you-go prices (../shared/seed): Free 1,000 req/month ₦0,
# Pro 50,000 ₦15,000, Enterprise unlimited/custom; ₦5 per SMS, ₦10 per status check, $0.002 per
# AI token. USD base prices and NGN token prices are our own conversions (₦1,500 ≈ $1).
DEMO_METERS = [
    {"code": "sms.sent", "name": "SMS sent", "unit_label": "SMS", "stripe_event_name": "sms_sent"},
    {"code": "delivery.status_check", "name": "Delivery status checks", "unit_label": "check",
     "stripe_event_name": "delivery_status_check"},
    {"code": "ai.tokens", "name": "AI tokens generated", "unit_label": "token", "stripe_event_name": "ai_tokens"},
]
# The sample API's operations (gateway/) and what each call counts.
DEMO_OPERATIONS = [
    {"operation_id": "sms_send", "meter": "sms.sent", "units_mode": UnitsMode.REPORTED, "units_per_call": 1},
    {"operation_id": "delivery_status_get", "meter": "delivery.status_check", "units_mode": UnitsMode.FIXED,
     "units_per_call": 1},
    {"operation_id": "ai_completion_create", "meter": "ai.tokens", "units_mode": UnitsMode.REPORTED,
     "units_per_call": 1},
]
PAYG_UNIT_PRICES = {
    "NGN": {"sms.sent": Decimal("5"), "delivery.status_check": Decimal("10"), "ai.tokens": Decimal("3")},
    "USD": {"sms.sent": Decimal("0.004"), "delivery.status_check": Decimal("0.008"), "ai.tokens": Decimal("0.002")},
}
DEMO_PLANS = [
    {
        "code": "free", "name": "Free", "sort_order": 0, "monthly_quota": 1_000, "rate_per_second": 2,
        "rate_per_minute": 60, "overage_policy": OveragePolicy.HARD_STOP,
        "description": "For developers testing the API.",
        "features": ["1,000 requests a month", "Test and live keys", "Community support"],
        "prices": {"NGN": 0, "USD": 0}, "included": None,
    },
    {
        "code": "payg", "name": "Pay as you go", "sort_order": 1, "monthly_quota": None, "rate_per_second": 10,
        "rate_per_minute": 600, "overage_policy": OveragePolicy.BILL,
        "description": "No monthly fee: pay only for what you send.",
        "features": ["₦5 per SMS", "₦10 per delivery status check", "$0.002 per AI token"],
        "prices": {"NGN": 0, "USD": 0}, "included": {},
    },
    {
        "code": "pro", "name": "Pro", "sort_order": 2, "monthly_quota": 50_000, "rate_per_second": 20,
        "rate_per_minute": 1_200, "overage_policy": OveragePolicy.BILL, "trial_days": 0,
        "description": "For small businesses and startups.",
        "features": ["50,000 requests a month", "Overage billed per unit", "Usage alerts and webhooks", "Email support"],
        "prices": {"NGN": 1_500_000, "USD": 1_000},
        "included": {"sms.sent": 1_000, "delivery.status_check": 5_000, "ai.tokens": 100_000},
    },
    {
        "code": "enterprise", "name": "Enterprise", "sort_order": 3, "monthly_quota": None, "rate_per_second": 200,
        "rate_per_minute": 12_000, "overage_policy": OveragePolicy.BILL,
        "description": "For large companies and high volume: custom contract.",
        "features": ["Unlimited requests", "Dedicated infrastructure", "Custom SLA", "Priority support"],
        "prices": {}, "included": None,
    },
]


@transaction.atomic
def plans_seed_demo() -> list[Plan]:
    """Create or update the demo plans, prices and meters. Idempotent."""
    meters = {}
    for spec in DEMO_METERS:
        meter, _ = Meter.objects.update_or_create(code=spec["code"], defaults=spec)
        meters[meter.code] = meter
    for spec in DEMO_OPERATIONS:
        OperationMeter.objects.update_or_create(
            operation_id=spec["operation_id"],
            defaults={**spec, "meter": meters[spec["meter"]]},
        )
    plans = []
    for spec in DEMO_PLANS:
        spec = dict(spec)
        prices, included = spec.pop("prices"), spec.pop("included")
        plan, _ = Plan.objects.update_or_create(code=spec["code"], defaults=spec)
        for currency, amount in prices.items():
            Price.objects.update_or_create(
                plan=plan, currency=currency, interval="month", defaults={"amount_minor": amount}
            )
        if included is not None:
            for currency, unit_prices in PAYG_UNIT_PRICES.items():
                for code, unit_price in unit_prices.items():
                    MeterPrice.objects.update_or_create(
                        plan=plan, meter=meters[code], currency=currency,
                        defaults={"unit_price": unit_price, "included_units": included.get(code, 0)},
                    )
        plans.append(plan)
    return plans


def entitlements_publish(*, org_id: int) -> dict:
    """Make the organization's current plan limits visible to the hot path immediately.

    Called after every subscription change (checkout confirmed, dunning downgrade, cancel,
    operator edit) so that "a plan change takes effect on the next request": the admission
    script (usage/lua/admit.lua) reads this hash on every request. Counters are kept, so an
    upgrade mid-period keeps the requests already used. Returns what was published.
    """
    from plans.selectors import entitlements_for_org
    from usage.limiter import entitlements_key, redis_client

    entitlements = entitlements_for_org(org_id=org_id)
    key = entitlements_key(org_id)
    mapping = {name: ("" if value is None else value) for name, value in entitlements.items()}
    client = redis_client()
    pipe = client.pipeline(transaction=True)
    pipe.delete(key)
    # Missing fields mean "no limit" to the script: write only the limits that apply.
    pipe.hset(key, mapping={k: v for k, v in mapping.items() if v != ""})
    # Safety net: a forgotten publish (e.g. an operator edit by SQL) heals within a day.
    pipe.expire(key, ENTITLEMENTS_TTL)
    pipe.execute()
    return entitlements


def plan_entitlements_refresh(*, plan: Plan) -> int:
    """After an operator edits a plan: drop every published copy so each organization picks up
    the new limits on its next request (the script republishes a missing hash)."""
    from usage.limiter import redis_client

    client = redis_client()
    dropped = 0
    for key in client.scan_iter(match="{org:*}:ent", count=1000):
        if client.hget(key, "plan") in (plan.code, plan.code.encode()):
            dropped += client.delete(key)
    return dropped
