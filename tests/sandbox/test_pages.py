"""The sandbox's hosted pages exist only for a provider without a real secret key."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_sandbox_pages_are_off_with_real_keys(usd_client, settings):
    settings.STRIPE_SECRET_KEY = "sk_live_real"
    assert usd_client.get("/sandbox/checkout/stripe/cs_test_x/").status_code == 404
    assert usd_client.get("/sandbox/portal/stripe/bps_x/").status_code == 404
