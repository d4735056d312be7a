from __future__ import annotations

import pytest

from accounts.models import Role
from keys.cache import local_cache_clear
from tests.factories import MembershipFactory, UserFactory


@pytest.fixture(autouse=True)
def seeded(demo_product):
    local_cache_clear()


@pytest.fixture
def billing_client(client, org):
    """Signed in as a member of ``org`` with the billing role (may not manage keys)."""
    member = UserFactory()
    MembershipFactory(organization=org, user=member, role=Role.BILLING)
    client.force_login(member)
    session = client.session
    session["active_org_id"] = org.pk
    session.save()
    return client
