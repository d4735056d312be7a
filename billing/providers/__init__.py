"""Provider registry: the choice by name and by currency.

With no secret key configured for a provider, its instance talks to the local sandbox (the
``sandbox`` app) through the same SDK/httpx code paths; a real key switches to the real API
with no code change.
"""

from __future__ import annotations

from django.conf import settings

from billing.providers.base import PaymentProvider
from billing.providers.paystack import PaystackProvider
from billing.providers.stripe import StripeProvider
from sandbox.config import (
    SANDBOX_PAYSTACK_BASE,
    SANDBOX_STRIPE_BASE,
    SANDBOX_STRIPE_KEY,
    paystack_secret_key,
    provider_enabled,
    provider_on_sandbox,
)
from sandbox.transport import SandboxPaystackTransport, SandboxStripeHTTPClient

PROVIDERS: dict[str, type[PaymentProvider]] = {"stripe": StripeProvider, "paystack": PaystackProvider}


def provider_get(name: str) -> PaymentProvider:
    """The provider client; KeyError for an unknown or disabled provider (its webhooks are 404)."""
    if name not in PROVIDERS or not provider_enabled(name):
        raise KeyError(f"unknown or disabled payment provider {name!r}")
    sandbox = provider_on_sandbox(name)
    if name == "stripe":
        return StripeProvider(
            secret_key=SANDBOX_STRIPE_KEY if sandbox else settings.STRIPE_SECRET_KEY,
            webhook_secret=settings.STRIPE_WEBHOOK_SECRET,
            http_client=SandboxStripeHTTPClient() if sandbox else None,
            api_base=SANDBOX_STRIPE_BASE if sandbox else None,
        )
    return PaystackProvider(
        secret_key=paystack_secret_key(),
        transport=SandboxPaystackTransport() if sandbox else None,
        **({"base_url": SANDBOX_PAYSTACK_BASE} if sandbox else {}),
    )


def provider_name_for_currency(currency: str) -> str:
    """Paystack for the currencies it settles (settings.PAYSTACK_CURRENCIES), Stripe otherwise."""
    if settings.PAYSTACK_ENABLED and currency.upper() in settings.PAYSTACK_CURRENCIES:
        return "paystack"
    if not settings.STRIPE_ENABLED:
        raise KeyError(f"no payment provider is enabled for {currency}")
    return "stripe"
