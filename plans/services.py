"""Writes for plans, prices, meters and subscriptions."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from plans.models import Meter, MeterPrice, OveragePolicy, Plan, Price

# The seed article's tiers and pay-as-you-go prices (../shared/seed): Free 1,000 req/month ₦0,
# Pro 50,000 ₦15,000, Enterprise unlimited/custom; ₦5 per SMS, ₦10 per status check, $0.002 per
# AI token. USD base prices and NGN token prices are our own conversions (₦1,500 ≈ $1).
DEMO_METERS = [
    {"code": "sms.sent", "name": "SMS sent", "unit_label": "SMS", "stripe_event_name": "sms_sent"},
    {
        "code": "delivery.status_check",
        "name": "Delivery status checks",
        "unit_label": "check",
        "stripe_event_name": "delivery_status_check",
    },
    {"code": "ai.tokens", "name": "AI tokens generated", "unit_label": "token", "stripe_event_name": "ai_tokens"},
]
PAYG_UNIT_PRICES = {
    "NGN": {"sms.sent": Decimal("5"), "delivery.status_check": Decimal("10"), "ai.tokens": Decimal("3")},
    "USD": {"sms.sent": Decimal("0.004"), "delivery.status_check": Decimal("0.008"), "ai.tokens": Decimal("0.002")},
}
DEMO_PLANS = [
    {
        "code": "free",
        "name": "Free",
        "sort_order": 0,
        "monthly_quota": 1_000,
        "rate_per_second": 2,
        "rate_per_minute": 60,
        "overage_policy": OveragePolicy.HARD_STOP,
        "description": "For developers testing the API.",
        "features": ["1,000 requests a month", "Test and live keys", "Community support"],
        "prices": {"NGN": 0, "USD": 0},
        "included": None,
    },
    {
        "code": "payg",
        "name": "Pay as you go",
        "sort_order": 1,
        "monthly_quota": None,
        "rate_per_second": 10,
        "rate_per_minute": 600,
        "overage_policy": OveragePolicy.BILL,
        "description": "No monthly fee: pay only for what you send.",
        "features": ["₦5 per SMS", "₦10 per delivery status check", "$0.002 per AI token"],
        "prices": {"NGN": 0, "USD": 0},
        "included": {},
    },
    {
        "code": "pro",
        "name": "Pro",
        "sort_order": 2,
        "monthly_quota": 50_000,
        "rate_per_second": 20,
        "rate_per_minute": 1_200,
        "overage_policy": OveragePolicy.BILL,
        "trial_days": 0,
        "description": "For small businesses and startups.",
        "features": [
            "50,000 requests a month",
            "Overage billed per unit",
            "Usage alerts and webhooks",
            "Email support",
        ],
        "prices": {"NGN": 1_500_000, "USD": 1_000},
        "included": {"sms.sent": 1_000, "delivery.status_check": 5_000, "ai.tokens": 100_000},
    },
    {
        "code": "enterprise",
        "name": "Enterprise",
        "sort_order": 3,
        "monthly_quota": None,
        "rate_per_second": 200,
        "rate_per_minute": 12_000,
        "overage_policy": OveragePolicy.BILL,
        "description": "For large companies and high volume: custom contract.",
        "features": ["Unlimited requests", "Dedicated infrastructure", "Custom SLA", "Priority support"],
        "prices": {},
        "included": None,
    },
]


@transaction.atomic
def plans_seed_demo() -> list[Plan]:
    """Create or update the demo plans, prices and meters. Idempotent."""
    meters = {}
    for spec in DEMO_METERS:
        meter, _ = Meter.objects.update_or_create(code=spec["code"], defaults=spec)
        meters[meter.code] = meter
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
                        plan=plan,
                        meter=meters[code],
                        currency=currency,
                        defaults={"unit_price": unit_price, "included_units": included.get(code, 0)},
                    )
        plans.append(plan)
    return plans
