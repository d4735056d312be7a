"""What a product operation costs, in words and per plan and currency, from the database: the
operation's meter and unit rule (``products.Operation``) and the meter's prices on the plans
that include the product (``plans.MeterPrice`` through ``public.pricing.meter_price_table``).

The same values feed ``x-price`` in the OpenAPI document, the per-operation docs pages and
the pricing page, so the three never disagree.
"""

from __future__ import annotations

from typing import Any

from portal.money import format_price
from products.models import Operation, UnitRule
from public.oas import PRICE_MARKER

FREE_SUMMARY = "Free: calls to this operation are not billed."


def unit_plural(label: str) -> str:
    """The plural of a unit label: message → messages; acronyms and plurals stay (SMS, tokens)."""
    if not label or label.isupper() or label.endswith(("s", "x")):
        return label
    return label + "s"


def _field(source: str) -> str:
    """A JSON pointer as people write it: ``/usage/total_tokens`` → ``usage.total_tokens``."""
    return source.lstrip("/").replace("/", ".").replace("~1", "/").replace("~0", "~")


def unit_rule_words(*, rule: str, units_fixed: int, unit_source: str, unit: str) -> str:
    """How many units one call counts, in words (``unit`` is the meter's unit label)."""
    if rule == UnitRule.FIXED:
        label = unit if units_fixed == 1 else unit_plural(unit)
        return f"{units_fixed:,} {label} per call"
    if rule == UnitRule.REQUEST_JSON_ARRAY_LENGTH:
        where = f"`{_field(unit_source)}`" if unit_source else "the JSON body (an array)"
        return f"1 {unit} per item of {where} in the request"
    if rule == UnitRule.REQUEST_FORM_FIELD_COUNT:
        return f"1 {unit} per `{unit_source}` field in the request form"
    if rule == UnitRule.RESPONSE_HEADER:
        return f"the {unit_plural(unit)} the API reports in its `{unit_source}` response header"
    if rule == UnitRule.RESPONSE_JSON_FIELD:
        where = f"`{_field(unit_source)}` field" if unit_source else "body (a number)"
        return f"the {unit_plural(unit)} the API reports in its response's {where}"
    return "free"


def _unit_price(cell: dict[str, Any]) -> str:
    tiers = cell.get("tiers") or []
    return str(tiers[0].get("unit_price", cell["unit_price"])) if tiers else str(cell["unit_price"])


def operation_price(
    *,
    operation: Operation,
    price_table: dict[str, dict[str, Any]],
    plan_codes: frozenset[str],
) -> dict[str, Any]:
    """The ``x-price`` of a product operation: free, or the meter, the unit rule in words and
    each plan's price per currency (``plan_codes`` = the plans that include the product; empty
    = every plan)."""
    if operation.unit_rule == UnitRule.FREE or operation.meter is None:
        return {"free": True, "summary": FREE_SUMMARY}
    meter = operation.meter
    words = unit_rule_words(
        rule=operation.unit_rule,
        units_fixed=operation.units_fixed,
        unit_source=operation.unit_source,
        unit=meter.unit_label,
    )
    entry = price_table.get(meter.code) or {"plans": {}}
    plans: dict[str, Any] = {}
    for code, plan in entry["plans"].items():
        if plan_codes and code not in plan_codes:
            continue
        currencies = {}
        for currency, cell in plan["currencies"].items():
            tiered = "from " if cell.get("tiers") else ""
            text = f"{tiered}{format_price(_unit_price(cell), currency)} per {meter.unit_label}"
            currencies[currency] = {**cell, "text": text}
        plans[code] = {"name": plan["name"], "currencies": currencies}
    return {
        "free": False,
        "meter": meter.code,
        "name": meter.name,
        "unit": meter.unit_label,
        "rule": operation.unit_rule,
        "units": words,
        "plans": plans,
        "summary": _summary(plans, words),
    }


def _summary(plans: dict[str, Any], words: str) -> str:
    """One line for the whole price, from the first plan's first currency, e.g.
    ``₦5 per SMS (1 SMS per item of `to` in the request)``."""
    for plan in plans.values():
        for cell in plan["currencies"].values():
            return f"{cell['text']} ({words})"
    return f"Not priced on a public plan yet ({words})."


def price_markdown(price: dict[str, Any]) -> str:
    """``x-price`` as markdown for the operation's description (Swagger UI shows it)."""
    if price.get("free"):
        return f"{PRICE_MARKER}{FREE_SUMMARY} Calls with a test key are never billed either."
    lines = [
        f"{PRICE_MARKER}meter `{price['meter']}`: {price['units']}.",
        "",
        f"| Plan | Included per month | Then per {price['unit']} |",
        "|---|---|---|",
    ]
    for plan in price["plans"].values():
        for currency, cell in plan["currencies"].items():
            included = f"{cell['included_units']:,}" if cell["included_units"] else "—"
            lines.append(f"| {plan['name']} ({currency}) | {included} | {cell['text'].rsplit(' per ', 1)[0]} |")
    if not price["plans"]:
        lines.append("| — | — | not priced on a public plan yet |")
    lines += ["", "Calls with a test key are free and never billed. See [pricing](/pricing/)."]
    return "\n".join(lines)
