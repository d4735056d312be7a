"""Database constraints guard the invariants the catalogue relies on, even against raw writes."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from plans.models import Meter
from products.models import ApiDocument, ApiProduct, Operation, UnitRule
from products.validators import base_paths_overlap


def _violates(update, **fields) -> bool:
    try:
        with transaction.atomic():
            update(**fields)
    except IntegrityError:
        return True
    return False


@pytest.mark.parametrize("base_path", ["/v2/x", "/v1/x/", "/v1/x/../y", "/v1", "/v1/a b", "v1/x"])
def test_base_path_constraint(product, base_path):
    assert _violates(ApiProduct.objects.filter(pk=product.pk).update, base_path=base_path)


def test_product_constraints(product):
    update = ApiProduct.objects.filter(pk=product.pk).update
    assert _violates(update, upstream_url="ftp://x")
    assert _violates(update, read_timeout_s=0)
    assert _violates(update, max_response_bytes=0)
    assert _violates(update, visibility="secret")


def _operation(product, **fields):
    defaults = {"operation_id": "op", "method": "GET", "path_template": "/a", "required_scope": "op"}
    return Operation.objects.create(product=product, **{**defaults, **fields})


def test_operation_constraints(product):
    meter = Meter.objects.create(code="m", name="M", unit_label="u")
    _operation(product)
    assert _violates(_operation, product=product, operation_id="op", path_template="/b")  # id unique per product
    assert _violates(_operation, product=product, operation_id="op2")  # live route unique
    assert _violates(_operation, product=product, operation_id="op3", path_template="/c", unit_rule=UnitRule.FIXED)
    assert _violates(_operation, product=product, operation_id="op4", path_template="/d", meter=meter)  # free + meter
    assert _violates(
        _operation,
        product=product,
        operation_id="op5",
        path_template="/e",
        meter=meter,
        unit_rule=UnitRule.RESPONSE_HEADER,
    )  # header rule without a header name
    assert _violates(_operation, product=product, operation_id="op6", path_template="/f", unit_source="x")
    assert _violates(_operation, product=product, operation_id="op7", path_template="/g", removed_at=timezone.now())
    assert _violates(_operation, product=product, operation_id="op8", path_template="h")
    assert _violates(_operation, product=product, operation_id="op9", path_template="/i", method="TRACE")
    # A removed operation frees its route for a new one.
    _operation(product, operation_id="old", path_template="/z", enabled=False, removed_at=timezone.now())
    _operation(product, operation_id="new", path_template="/z")


def test_one_current_document_per_product(product):
    def create(version, current=True):
        return ApiDocument.objects.create(
            product=product, version=version, format="json", source="{}", parsed={}, sha256="0" * 64, is_current=current
        )

    create(1)
    assert _violates(create, version=2)
    assert _violates(create, version=1, current=False)


def test_base_paths_overlap_by_whole_segments():
    assert base_paths_overlap("/v1/sms", "/v1/sms/eu") and base_paths_overlap("/v1/SMS", "/v1/sms")
    assert not base_paths_overlap("/v1/sms", "/v1/smsx") and not base_paths_overlap("/v1/a", "/v1/b")
