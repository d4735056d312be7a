"""``{{ amount_minor|money:currency }}`` → "₦15,000.00", "$10.00" (see ``portal.money``)."""

from __future__ import annotations

from django import template

from portal.money import format_minor

register = template.Library()


@register.filter
def money(amount_minor: int | None, currency: str = "USD") -> str:
    if amount_minor is None:
        return "—"
    return format_minor(int(amount_minor), currency or "USD")
