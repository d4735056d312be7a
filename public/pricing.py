"""Prices for the pricing page and the ``x-price`` schema extension, read from the database.

Everything shown comes from ``plans.selectors.plans_public()`` (plans, base prices, meter
prices); nothing is hard-coded, so an operator's edit in the admin shows up on the next load.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import DatabaseError

from plans.models import OveragePolicy
from plans.selectors import plans_public
from portal.money import format_price, format_unit_price, to_major


def operation_meter(*, path: str, method: str, operation_id: str | None, view: Any) -> str | None:
    """Which meter an operation charges, or None when it is not metered.

    Looked up, in order: the view's ``meter_code`` (or ``meter``) attribute, then the
    ``DOCS_OPERATION_METERS`` setting (operationId → meter code). Point
    ``DOCS_OPERATION_METER_RESOLVER`` at another function with this signature to use a
    different source. (API products' operations carry their meter in the catalogue;
    ``public.product_docs`` prices them from there.)
    """
    for attr in ("meter_code", "meter"):
        value = getattr(view, attr, None) if view is not None else None
        if isinstance(value, str) and value:
            return value
    return getattr(settings, "DOCS_OPERATION_METERS", {}).get(operation_id or "") or None


def meter_price_table() -> dict[str, dict[str, Any]]:
    """meter code → {meter, name, unit, plans: {plan code: {name, currencies: {cur: price}}}}.

    The value of ``x-price`` on every operation that charges the meter.
    """
    table: dict[str, dict[str, Any]] = {}
    try:
        plans = list(plans_public())
    except DatabaseError:  # e.g. `spectacular` run without a database: document without prices
        return table
    for plan in plans:
        for mp in plan.meter_prices.all():
            entry = table.setdefault(
                mp.meter.code,
                {"meter": mp.meter.code, "name": mp.meter.name, "unit": mp.meter.unit_label, "plans": {}},
            )
            plan_entry = entry["plans"].setdefault(plan.code, {"name": plan.name, "currencies": {}})
            plan_entry["currencies"][mp.currency] = {
                "unit_price": format_unit_price(mp.unit_price),
                "included_units": mp.included_units,
                "tiers": mp.tiers or [],
            }
    return table


def price_markdown(price: dict[str, Any]) -> str:
    """The ``x-price`` value as a short markdown table for Swagger UI's description."""
    lines = [
        f"**Price** — meter `{price['meter']}`, billed per {price['unit']}:",
        "",
        "| Plan | Included per month | Then per " + price["unit"] + " |",
        "|---|---|---|",
    ]
    for plan in price["plans"].values():
        for currency, cp in plan["currencies"].items():
            included = f"{cp['included_units']:,}" if cp["included_units"] else "—"
            lines.append(f"| {plan['name']} ({currency}) | {included} | {format_price(cp['unit_price'], currency)} |")
    lines.append("")
    lines.append("Calls with a test key are free and never billed. See [pricing](/pricing/).")
    return "\n".join(lines)


# --- The pricing page -----------------------------------------------------------------------


@dataclass
class MeterLine:
    name: str
    unit: str
    unit_price: str | None
    included: int


@dataclass
class PlanCard:
    code: str
    name: str
    description: str
    features: list[str]
    price: str | None  # None = custom (contact sales)
    price_minor: int | None
    monthly_quota: int | None
    rate_per_second: int | None
    rate_per_minute: int | None
    overage: str
    trial_days: int
    is_free: bool
    highlight: bool
    meters: list[MeterLine] = field(default_factory=list)


OVERAGE_TEXT = {
    OveragePolicy.HARD_STOP: "Requests over the quota are refused (429) until the next month.",
    OveragePolicy.BILL: "Over the quota? Keep going — extra calls are billed per unit.",
    OveragePolicy.GRACE: "A grace margin over the quota, then requests are refused.",
}


# A feature bullet that states a price ("₦5 per SMS") is replaced on the card by the same price
# computed from MeterPrice in the selected currency, so a USD page never shows naira bullets.
_PRICE_IN_TEXT = re.compile(r"(?:[₦$€£]|GH₵|KSh|\b(?:NGN|USD|EUR|GBP|GHS|ZAR|KES)\b)\s?\d")


def pricing_currencies() -> list[str]:
    """Currencies that have at least one active base price or meter price, default first."""
    found: set[str] = set()
    for plan in plans_public():
        found |= {p.currency for p in plan.prices.all() if p.is_active}
        found |= {mp.currency for mp in plan.meter_prices.all()}
    default = settings.DEFAULT_CURRENCY
    return sorted(found, key=lambda c: (c != default, c))


def pricing_plans(*, currency: str) -> list[PlanCard]:
    """The pricing page's tiers in ``currency``."""
    highlight = getattr(settings, "PRICING_HIGHLIGHT_PLAN", "pro")
    cards = []
    for plan in plans_public():
        price = next(
            (p for p in plan.prices.all() if p.currency == currency and p.is_active and p.interval == "month"), None
        )
        meters = [
            MeterLine(
                name=mp.meter.name,
                unit=mp.meter.unit_label,
                unit_price=format_price(mp.unit_price, currency),
                included=mp.included_units,
            )
            for mp in sorted(plan.meter_prices.all(), key=lambda mp: mp.meter.code)
            if mp.currency == currency
        ]
        overage = OVERAGE_TEXT.get(plan.overage_policy, "")
        if plan.overage_policy == OveragePolicy.GRACE and plan.grace_percent:
            overage = f"{plan.grace_percent} % grace over the quota, then requests are refused."
        cards.append(
            PlanCard(
                code=plan.code,
                name=plan.name,
                description=plan.description,
                features=[str(f) for f in (plan.features or []) if not (meters and _PRICE_IN_TEXT.search(str(f)))],
                price=format_price(to_major(price.amount_minor, currency), currency) if price else None,
                price_minor=price.amount_minor if price else None,
                monthly_quota=plan.monthly_quota,
                rate_per_second=plan.rate_per_second,
                rate_per_minute=plan.rate_per_minute,
                overage=overage if plan.monthly_quota else "No monthly quota.",
                trial_days=plan.trial_days,
                is_free=bool(price) and price.amount_minor == 0 and not meters,
                highlight=plan.code == highlight,
                meters=meters,
            )
        )
    return cards


def meter_rows(*, currency: str, plans: list[PlanCard]) -> list[dict[str, Any]]:
    """Rows of the unit-price comparison table: one per meter, one cell per plan."""
    names: dict[str, str] = {}
    for card in plans:
        for line in card.meters:
            names.setdefault(line.name, line.unit)
    rows = []
    for name, unit in names.items():
        cells = []
        for card in plans:
            line = next((m for m in card.meters if m.name == name), None)
            cells.append(line)
        rows.append({"name": name, "unit": unit, "cells": cells})
    return rows
