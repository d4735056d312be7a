"""``{{ amount_minor|money:currency }}`` → "₦15,000.00", "$10.00"."""

from __future__ import annotations

from decimal import Decimal

from django import template

from billing.invoices import minor_exponent

register = template.Library()

SYMBOLS = {"NGN": "₦", "USD": "$", "GHS": "GH₵", "ZAR": "R", "KES": "KSh", "EUR": "€", "GBP": "£"}


@register.filter
def money(amount_minor, currency: str = "USD") -> str:
    if amount_minor is None:
        return "—"
    currency = (currency or "USD").upper()
    exponent = minor_exponent(currency)
    value = Decimal(int(amount_minor)).scaleb(-exponent)
    sign = "-" if value < 0 else ""
    text = f"{abs(value):,.{exponent}f}"
    symbol = SYMBOLS.get(currency)
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {currency}"
