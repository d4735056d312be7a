"""Provider registry: names → classes (imported lazily), and the choice by currency.

With no secret key configured for a provider, its instance talks to the local sandbox
(``billing/sandbox``) through the same SDK/httpx code paths; a real key switches to the real
API with no code change.
"""

from __future__ import annotations

from importlib import import_module

from django.conf import settings

from billing.providers.base import PaymentProvider

PROVIDERS: dict[str, str] = {
    "stripe": "billing.providers.stripe.StripeProvider",
    "paystack": "billing.providers.paystack.PaystackProvider",
}

SANDBOX_STRIPE_KEY = "sk_test_tollgate_sandbox"
SANDBOX_PAYSTACK_KEY = "sk_test_tollgate_paystack_sandbox"
# Hosts that never resolve: the sandbox transports answer in-process, and logs say "sandbox".
SANDBOX_STRIPE_BASE = "https://stripe-sandbox.tollgate.invalid"
SANDBOX_PAYSTACK_BASE = "https://paystack-sandbox.tollgate.invalid"


def _class(name: str):
    module, _, attr = PROVIDERS[name].rpartition(".")
    return getattr(import_module(module), attr)


def provider_enabled(name: str) -> bool:
    return settings.STRIPE_ENABLED if name == "stripe" else settings.PAYSTACK_ENABLED


def provider_uses_sandbox(name: str) -> bool:
    """An enabled provider without its secret key (settings refuse that in production unless
    BILLING_SANDBOX_ALLOWED). A disabled provider has no sandbox either."""
    key = settings.STRIPE_SECRET_KEY if name == "stripe" else settings.PAYSTACK_SECRET_KEY
    return provider_enabled(name) and not key


def provider_get(name: str) -> PaymentProvider:
    """The provider client; KeyError for an unknown or disabled provider (its webhooks are 404)."""
    if name not in PROVIDERS or not provider_enabled(name):
        raise KeyError(f"unknown or disabled payment provider {name!r}")
    klass = _class(name)
    sandbox = provider_uses_sandbox(name)
    if name == "stripe":
        from billing.sandbox.transport import SandboxStripeHTTPClient

        return klass(
            secret_key=SANDBOX_STRIPE_KEY if sandbox else settings.STRIPE_SECRET_KEY,
            webhook_secret=settings.STRIPE_WEBHOOK_SECRET,
            http_client=SandboxStripeHTTPClient() if sandbox else None,
            api_base=SANDBOX_STRIPE_BASE if sandbox else None,
        )
    from billing.sandbox.transport import SandboxPaystackTransport

    return klass(
        secret_key=paystack_secret_key(),
        transport=SandboxPaystackTransport() if sandbox else None,
        **({"base_url": SANDBOX_PAYSTACK_BASE} if sandbox else {}),
    )


def paystack_secret_key() -> str:
    return settings.PAYSTACK_SECRET_KEY or SANDBOX_PAYSTACK_KEY


def provider_name_for_currency(currency: str) -> str:
    """Paystack for the currencies it settles (settings.PAYSTACK_CURRENCIES), Stripe otherwise."""
    if settings.PAYSTACK_ENABLED and currency.upper() in settings.PAYSTACK_CURRENCIES:
        return "paystack"
    if not settings.STRIPE_ENABLED:
        raise KeyError(f"no payment provider is enabled for {currency}")
    return "stripe"
