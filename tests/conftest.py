"""Shared fixtures. Integration tests run against the real PostgreSQL and Redis that
``make test`` finds or starts (never fakes)."""

from __future__ import annotations

import json
import os
import re

import pytest
from django_redis import get_redis_connection

from plans.services import plans_seed_demo
from products.catalogue import catalogue_reset
from products.demo import demo_product_seed
from sandbox.models import SandboxObject
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory
from tests.servers import granian_start, stop

os.environ.setdefault("TESTING", "1")


@pytest.fixture(autouse=True)
def _clean_redis(settings):
    """Each test starts with an empty Redis database (and so with no catalogue snapshot: its
    version lived there)."""
    redis = get_redis_connection("default")
    redis.flushdb()
    catalogue_reset()
    yield
    redis.flushdb()
    catalogue_reset()


@pytest.fixture(autouse=True)
def _eager_celery(settings):
    """Tasks enqueued by services run in-process unless a test starts a real worker."""
    from portal.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture(scope="session")
def demo_upstream_url():
    """The demo product's upstream (devtools/demo_upstream.py), served by granian for the session.
    It verifies the gateway's signed identity headers, as ``make run`` starts it."""
    from django.conf import settings

    proc, port = granian_start(
        "devtools.demo_upstream:app", env={"TOLLGATE_IDENTITY_SECRET": settings.GATEWAY_IDENTITY_SECRET}
    )
    yield f"http://127.0.0.1:{port}"
    stop(proc)


@pytest.fixture
def demo_product(db, demo_upstream_url):
    """The demo plans and the demo API product (imported from its OpenAPI document and priced
    like ``seed_demo`` does), in the catalogue of this process."""
    product = demo_product_seed(upstream_url=demo_upstream_url)
    catalogue_reset()
    yield product
    catalogue_reset()


@pytest.fixture
def redis_client():
    return get_redis_connection("default")


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def org(user):
    return OrganizationFactory(owner=user)


@pytest.fixture
def other_org(db):
    """An organization the ``user`` fixture does not belong to (for isolation tests)."""
    return OrganizationFactory(owner=UserFactory())


@pytest.fixture
def member_client(client, user, org):
    """A Django test client signed in as ``user`` with ``org`` active."""
    client.force_login(user)
    session = client.session
    session["active_org_id"] = org.pk
    session.save()
    return client


__all__ = ["MembershipFactory"]


# --- billing, sandbox and webhooks: demo plans, orgs in USD (Stripe) and NGN (Paystack), and
# helpers to drive the sandbox's hosted pages ------------------------------------------------
@pytest.fixture
def plans(db):
    return {plan.code: plan for plan in plans_seed_demo()}


@pytest.fixture
def usd_org(plans, user):
    return OrganizationFactory(owner=user, currency="USD", billing_email="billing@usd.example")


@pytest.fixture
def ngn_org(plans, user):
    return OrganizationFactory(owner=user, currency="NGN", billing_email="billing@ngn.example")


def signed_in(client, user, org):
    client.force_login(user)
    session = client.session
    session["active_org_id"] = org.pk
    session.save()
    return client


@pytest.fixture
def usd_client(client, user, usd_org):
    return signed_in(client, user, usd_org)


@pytest.fixture
def ngn_client(client, user, ngn_org):
    return signed_in(client, user, ngn_org)


@pytest.fixture
def deliver(django_capture_on_commit_callbacks):
    """Run a block and then everything it queued for after commit (sandbox webhooks, customer
    webhooks, entitlements), the way a real commit would."""

    class Runner:
        def __call__(self, fn, *args, **kwargs):
            with django_capture_on_commit_callbacks(execute=True):
                return fn(*args, **kwargs)

    return Runner()


def sandbox_webhooks(provider: str) -> list[dict]:
    """Every webhook the sandbox sent, oldest first (path, body, headers), for replays."""
    return [row.data for row in SandboxObject.objects.filter(provider=provider, kind="webhook").order_by("id")]


def checkout_path(response) -> str:
    assert response.status_code == 302, response.content[:500]
    match = re.search(r"(/sandbox/checkout/[^/]+/[^/]+/)", response["Location"])
    assert match, response["Location"]
    return match.group(1)


def event_types(provider: str) -> list[str]:
    out = []
    for hook in sandbox_webhooks(provider):
        body = json.loads(hook["body"])
        out.append(body.get("type") or body.get("event"))
    return out
