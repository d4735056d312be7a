"""Shared fixtures. Integration tests run against the real PostgreSQL and Redis that
``make test`` finds or starts (never fakes)."""

from __future__ import annotations

import os

import pytest
from django_redis import get_redis_connection

from tests.factories import MembershipFactory, OrganizationFactory, UserFactory

os.environ.setdefault("TESTING", "1")


@pytest.fixture(autouse=True)
def _clean_redis(settings):
    """Each test starts with an empty Redis database."""
    redis = get_redis_connection("default")
    redis.flushdb()
    yield
    redis.flushdb()


@pytest.fixture(autouse=True)
def _eager_celery(settings):
    """Tasks enqueued by services run in-process unless a test starts a real worker."""
    from portal.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


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
