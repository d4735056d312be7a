"""Fixtures for API products: the shared real-world OpenAPI documents, an operator, products."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from accounts.models import Organization
from plans.models import Plan
from products.catalogue import catalogue, catalogue_reset
from products.router import Route
from products.services import product_create
from tests.factories import UserFactory

FIXTURES = Path(settings.BASE_DIR).parent / "shared" / "fixtures" / "openapi"


def organization_make(slug: str) -> Organization:
    return Organization.objects.create(name=slug.title(), slug=slug)


def plan_make(code: str) -> Plan:
    return Plan.objects.create(code=code, name=code.title(), monthly_quota=1000)


def routed(method: str, path: str) -> Route:
    """The route the current catalogue serves ``method path`` with (it must have one)."""
    route = catalogue().match(method, path)
    assert route is not None, f"{method} {path} is not routed"
    return route


def fixture_text(name: str) -> str:
    path = FIXTURES / name
    if not path.exists():
        pytest.skip("shared fixtures are not beside the checkout")
    return path.read_text(encoding="utf-8")


@pytest.fixture
def twilio_text() -> str:
    return fixture_text("twilio_messaging_v1.json")


@pytest.fixture
def paystack_text() -> str:
    return fixture_text("paystack_betting.yaml")


@pytest.fixture(autouse=True)
def _fresh_catalogue():
    """Each test starts as a fresh worker would: no catalogue snapshot in memory."""
    catalogue_reset()
    yield
    catalogue_reset()


@pytest.fixture
def operator(db):
    return UserFactory(is_staff=True)


@pytest.fixture
def operator_client(client, operator):
    client.force_login(operator)
    return client


@pytest.fixture
def product(db):
    return product_create(
        name="Messaging", slug="messaging", base_path="/v1/messaging", upstream_url="https://upstream.example/api"
    )
