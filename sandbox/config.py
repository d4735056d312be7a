"""When the sandbox stands in for a provider, and the credentials/hosts it answers to.

Read from settings only: billing asks the same questions (``provider_on_sandbox``) to pick
the sandbox transport, so the rule lives here once.
"""

from __future__ import annotations

from django.conf import settings

PROVIDERS = (("stripe", "Stripe"), ("paystack", "Paystack"))

SANDBOX_STRIPE_KEY = "sk_test_tollgate_sandbox"
SANDBOX_PAYSTACK_KEY = "sk_test_tollgate_paystack_sandbox"
# Hosts that never resolve: the sandbox transports answer in-process, and logs say "sandbox".
SANDBOX_STRIPE_BASE = "https://stripe-sandbox.tollgate.invalid"
SANDBOX_PAYSTACK_BASE = "https://paystack-sandbox.tollgate.invalid"


def provider_enabled(name: str) -> bool:
    return settings.STRIPE_ENABLED if name == "stripe" else settings.PAYSTACK_ENABLED


def provider_on_sandbox(name: str) -> bool:
    """An enabled provider without its secret key (settings refuse that in production unless
    BILLING_SANDBOX_ALLOWED). A disabled provider has no sandbox either."""
    key = settings.STRIPE_SECRET_KEY if name == "stripe" else settings.PAYSTACK_SECRET_KEY
    return provider_enabled(name) and not key


def paystack_secret_key() -> str:
    """The key Paystack requests carry: the real one, else the sandbox's (which it checks)."""
    return settings.PAYSTACK_SECRET_KEY or SANDBOX_PAYSTACK_KEY
