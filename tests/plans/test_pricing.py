from __future__ import annotations

from decimal import Decimal

import pytest

from plans.pricing import InvalidTiers, graduated_amount, tiers_validate

TIERS = [
    {"up_to": 10_000, "unit_price": "0.002"},
    {"up_to": 50_000, "unit_price": "0.0015"},
    {"up_to": None, "unit_price": "0.001"},
]


def test_flat_price_after_included_units():
    assert graduated_amount(units=1_500, included_units=1_000, unit_price=Decimal("5")) == Decimal("2500")
    assert graduated_amount(units=900, included_units=1_000, unit_price=Decimal("5")) == 0


def test_graduated_tiers_price_each_slice_separately():
    # 10,000 × 0.002 + 40,000 × 0.0015 + 10,000 × 0.001
    assert graduated_amount(units=60_000, tiers=TIERS) == Decimal("20") + Decimal("60") + Decimal("10")
    assert graduated_amount(units=10_000, tiers=TIERS) == Decimal("20.000")
    assert graduated_amount(units=10_001, tiers=TIERS) == Decimal("20.0015")


def test_included_units_come_before_tiers():
    assert graduated_amount(units=10_500, included_units=500, tiers=TIERS) == Decimal("20.000")


def test_sub_minor_unit_prices_stay_exact():
    assert graduated_amount(units=3, unit_price=Decimal("0.002")) == Decimal("0.006")
    assert isinstance(graduated_amount(units=1, tiers=TIERS), Decimal)


@pytest.mark.parametrize(
    "tiers, message",
    [
        ([], "at least one"),
        ([{"up_to": 10, "unit_price": "1"}], "last tier must be open"),
        ([{"up_to": None, "unit_price": "1"}, {"up_to": None, "unit_price": "1"}], "only the last"),
        (
            [{"up_to": 10, "unit_price": "1"}, {"up_to": 5, "unit_price": "1"}, {"up_to": None, "unit_price": "1"}],
            "above 10",
        ),
        ([{"up_to": None, "unit_price": "-1"}], "zero or more"),
        ([{"up_to": None, "unit_price": "abc"}], "decimal"),
    ],
)
def test_invalid_tiers_are_rejected(tiers, message):
    with pytest.raises(InvalidTiers, match=message):
        tiers_validate(tiers)


def test_negative_units_rejected():
    with pytest.raises(ValueError):
        graduated_amount(units=-1)
