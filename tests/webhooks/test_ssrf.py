"""SSRF guard: every IPv6 spelling of an internal IPv4 address is refused, and the refusal
never tells the customer which internal address a host name resolves to."""

from __future__ import annotations

import pytest

from webhooks.delivery import UnsafeTarget, target_check

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _guard_on(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False


@pytest.mark.parametrize(
    "address",
    [
        "64:ff9b::7f00:1",  # NAT64 well-known prefix embedding 127.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 embedding 169.254.169.254 (cloud metadata)
        "64:ff9b::a00:1",  # NAT64 embedding 10.0.0.1
        "64:ff9b:1::a00:1",  # local-use NAT64 prefix (RFC 8215)
        "::ffff:127.0.0.1",  # IPv4-mapped
        "::127.0.0.1",  # IPv4-compatible (deprecated, still routed by some stacks)
        "::a9fe:a9fe",  # IPv4-compatible embedding 169.254.169.254
        "::ffff:0:a00:1",  # IPv4-translated (SIIT) embedding 10.0.0.1
        "2002:7f00:1::1",  # 6to4 embedding 127.0.0.1
        "2002:c0a8:1::1",  # 6to4 embedding 192.168.0.1
        "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
        "2001:0:4136:e378:8000:63bf:f5ff:fff5",  # Teredo, client 10.0.0.10
    ],
)
def test_ipv6_forms_of_internal_ipv4_addresses_are_refused(address):
    with pytest.raises(UnsafeTarget):
        target_check(f"https://[{address}]/hook")


@pytest.mark.parametrize(
    "address",
    [
        "64:ff9b::5db8:d70e",  # NAT64 of a public IPv4 (DNS64 on an IPv6-only network)
        "2606:4700::1111",  # plain global IPv6
    ],
)
def test_public_ipv6_targets_are_allowed(address):
    assert target_check(f"https://[{address}]/hook") == address


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "::ffff:10.1.2.3", "64:ff9b::a9fe:a9fe"])
def test_refusal_names_the_host_but_not_the_internal_address(host):
    with pytest.raises(UnsafeTarget) as refused:
        target_check(f"https://{f'[{host}]' if ':' in host else host}/x")
    assert refused.value.detail == f"{host} resolves to a non-public address."


def test_api_refusal_says_non_public_without_the_address(member_client):
    response = member_client.post(
        "/api/billing/webhooks/",
        {"url": "https://localhost/hook", "event_types": ["invoice.paid"]},
        content_type="application/json",
    )
    assert response.status_code == 400 and response["Content-Type"] == "application/problem+json"
    assert response.json()["detail"] == "localhost resolves to a non-public address."
