"""Credentials for the contract test: a real test API key of the signed-in user's
organization (keys area), plus the session cookie the customer API uses."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings

from keys.services import api_key_create
from plans.models import Plan
from plans.services import plans_seed_demo
from products.document_import import document_apply
from products.services import product_create
from tests.factories import subscribe
from tests.products.documents import as_json, small_document
from usage.entitlements import entitlements_publish


@dataclass
class ContractCredentials:
    headers: dict[str, str]
    cookies: dict[str, str] = field(default_factory=dict)
    min_operations: int = 1
    key_operations_must_succeed: bool = True


def contract_credentials(*, client, user, org) -> ContractCredentials:
    plans_seed_demo()
    client.force_login(user)
    session = client.session
    session["active_org_id"] = org.pk
    session.save()
    cookies = {settings.SESSION_COOKIE_NAME: session.session_key}
    # On Enterprise (200 req/s, no monthly cap) the v1 operations answer for real instead of
    # mostly 429 once the Free plan's 60/min is spent.
    subscribe(org, Plan.objects.get(code="enterprise"))
    entitlements_publish(org_id=org.pk)
    _key, secret = api_key_create(org=org, name="Contract tests", mode="test", user=user)
    return ContractCredentials(headers={"Authorization": f"Bearer {secret}"}, cookies=cookies, min_operations=4)


def product_documented() -> None:
    """A public API product with an imported document: the schema the contract test reads is
    the merged one, as in a real deployment."""
    product = product_create(
        name="Messaging", slug="messaging", base_path="/v1/messaging", upstream_url="http://127.0.0.1:9"
    )
    document_apply(product=product, text=as_json(small_document()), user=None)
