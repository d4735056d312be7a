"""Money: integer minor units per currency, one rounding rule, one way to display an amount.

Amounts are stored as integers in minor units (kobo, cents) next to an ISO 4217 currency code;
unit prices that go below a minor unit ($0.002) are ``Decimal``. An exact amount is rounded
ONCE, to minor units, with ``ROUNDING`` — banker's rounding (``ROUND_HALF_EVEN``), so ties
do not drift upwards over many lines. Invoices, proration, MRR and the pricing page all use it.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

ROUNDING = ROUND_HALF_EVEN

ZERO_DECIMAL_CURRENCIES = frozenset({"JPY", "KRW", "UGX", "XOF", "XAF", "RWF"})

# Written before the amount, as is ("KSh 1,000"); a currency without a symbol is written after it.
SYMBOLS = {"NGN": "₦", "USD": "$", "EUR": "€", "GBP": "£", "GHS": "GH₵", "ZAR": "R", "KES": "KSh "}


def minor_exponent(currency: str) -> int:
    """Decimal places of the currency's minor unit (2 for NGN and USD, 0 for JPY)."""
    return 0 if currency.upper() in ZERO_DECIMAL_CURRENCIES else 2


def round_minor(amount_minor: Decimal) -> int:
    """The single rounding step, for an exact amount already in minor units."""
    return int(amount_minor.quantize(Decimal(1), rounding=ROUNDING))


def to_minor(amount_major: Decimal, currency: str) -> int:
    """Exact major-unit amount → integer minor units (rounded once, with ``ROUNDING``)."""
    return round_minor(amount_major.scaleb(minor_exponent(currency)))


def to_major(amount_minor: int, currency: str) -> Decimal:
    """Integer minor units → exact major-unit ``Decimal`` (150000 NGN → 1500.00)."""
    return Decimal(int(amount_minor)).scaleb(-minor_exponent(currency))


def _with_symbol(text: str, currency: str, *, negative: bool = False) -> str:
    sign = "-" if negative else ""
    symbol = SYMBOLS.get(currency)
    return f"{sign}{text} {currency}" if symbol is None else f"{sign}{symbol}{text}"


def format_minor(amount_minor: int, currency: str) -> str:
    """An invoice amount, every minor digit shown: 1500000 NGN → "₦15,000.00"."""
    currency = currency.upper()
    exponent = minor_exponent(currency)
    value = to_major(amount_minor, currency)
    return _with_symbol(f"{abs(value):,.{exponent}f}", currency, negative=value < 0)


def format_unit_price(value: Decimal) -> str:
    """5 → "5.00", 0.002 → "0.002": at least two decimals, no trailing noise."""
    value = Decimal(value).normalize()
    exponent = value.as_tuple().exponent
    places = max(2, -exponent if isinstance(exponent, int) else 2)
    return f"{value:.{places}f}"


def format_price(amount: Decimal | int | str, currency: str) -> str:
    """A price as people read it: whole amounts without decimals (₦15,000, $10), fractions as
    needed ($0.002)."""
    value = Decimal(str(amount))
    if value == value.to_integral_value():
        return _with_symbol(f"{int(abs(value)):,}", currency, negative=value < 0)
    whole, _, frac = format_unit_price(abs(value)).partition(".")
    return _with_symbol(f"{int(whole):,}.{frac}", currency, negative=value < 0)
