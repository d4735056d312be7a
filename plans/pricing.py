"""Pure pricing math: graduated tiers. No I/O, no rounding (invoices round once, per line)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any


class InvalidTiers(ValueError):
    pass


def tiers_validate(tiers: list[dict[str, Any]]) -> list[tuple[int | None, Decimal]]:
    """Normalise ``[{"up_to": 10000, "unit_price": "0.002"}, {"up_to": None, …}]``.

    ``up_to`` bounds are cumulative and strictly increasing; only the last tier may be open
    (``None``), and it must be. Prices are non-negative Decimals.
    """
    if not tiers:
        raise InvalidTiers("at least one tier is required")
    out: list[tuple[int | None, Decimal]] = []
    previous = 0
    for index, tier in enumerate(tiers):
        up_to = tier.get("up_to")
        try:
            price = Decimal(str(tier["unit_price"]))
        except Exception as exc:  # KeyError, InvalidOperation
            raise InvalidTiers(f"tier {index + 1}: unit_price must be a decimal number") from exc
        if price < 0 or not price.is_finite():
            raise InvalidTiers(f"tier {index + 1}: unit_price must be zero or more")
        last = index == len(tiers) - 1
        if up_to is None:
            if not last:
                raise InvalidTiers(f"tier {index + 1}: only the last tier may be open-ended")
        else:
            if isinstance(up_to, bool) or not isinstance(up_to, int) or up_to <= previous:
                raise InvalidTiers(f"tier {index + 1}: up_to must be an integer above {previous}")
            if last:
                raise InvalidTiers("the last tier must be open-ended (up_to null)")
            previous = up_to
        out.append((up_to, price))
    return out


def graduated_amount(
    *, units: int, included_units: int = 0, unit_price: Decimal = Decimal(0), tiers: list[dict[str, Any]] | None = None
) -> Decimal:
    """Amount in major units for ``units`` used in a period, unrounded.

    The first ``included_units`` are free. The rest are priced flat at ``unit_price``, or —
    when ``tiers`` are given — graduated: each tier prices only the units that fall inside it
    (10,000 at $0.002 then the remainder at $0.0015), like Stripe's ``tiers_mode=graduated``.
    """
    if units < 0 or included_units < 0:
        raise ValueError("units and included_units must be non-negative")
    billable = max(units - included_units, 0)
    if not tiers:
        return Decimal(billable) * Decimal(unit_price)
    total = Decimal(0)
    floor = 0
    for up_to, price in tiers_validate(tiers):
        if billable <= floor:
            break
        ceiling = billable if up_to is None else min(billable, up_to)
        total += Decimal(ceiling - floor) * price
        floor = ceiling
    return total
