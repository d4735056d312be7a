"""The payment-provider contract. Stripe and Paystack implement it; services receive a provider.

Rules every implementation follows:

* Amounts are integer minor units plus an upper-case ISO 4217 currency.
* Network trouble, timeouts and provider 5xx raise :class:`ProviderUnavailable` (transient: the
  caller may retry; webhook views answer 503 so the provider retries too). When a request
  that changes something may have been applied, :class:`ProviderOutcomeUnknown` (a subclass)
  says so: look the result up before repeating it.
* A refusal by the provider (4xx, declined card, unknown object) raises :class:`ProviderError`.
* Nothing here touches our database: providers translate between our world and the wire.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from portal.problems import Problem


class ProviderError(Problem):
    """The provider refused the request (bad parameters, unknown object, declined)."""

    status, slug, title = 402, "payment-provider-error", "The payment provider refused the request"


class ProviderUnavailable(Problem):
    """Transient: network error, timeout or provider 5xx. Safe to retry."""

    status, slug, title = 503, "payment-provider-unavailable", "The payment provider is unavailable"


class ProviderOutcomeUnknown(ProviderUnavailable):
    """A request that changes something (a refund, a subscription) was sent, the answer was
    lost and looking the result up failed too: it may or may not have been applied. Never
    repeat it blindly; look it up later (the compensation journal does)."""

    status, slug, title = 503, "payment-provider-outcome-unknown", "The payment provider's answer was lost"


class SignatureInvalid(Problem):
    """A webhook's signature (or timestamp) does not verify."""

    status, slug, title = 400, "bad-signature", "Webhook signature verification failed"


@dataclass(frozen=True)
class CheckoutSession:
    reference: str  # Stripe checkout session id / Paystack transaction reference
    url: str  # where to send the customer to pay


@dataclass(frozen=True)
class PaymentInfo:
    """A checkout or charge as the provider sees it *now* (never as a webhook claimed)."""

    reference: str
    paid: bool
    amount_minor: int | None
    currency: str
    customer_id: str = ""
    subscription_id: str = ""
    authorization_code: str = ""  # Paystack reusable card authorization
    metadata: dict[str, Any] = field(default_factory=dict)
    plan_ref: str = ""  # the price/plan it paid for (Stripe price id / Paystack plan code), when known


@dataclass(frozen=True)
class SubscriptionInfo:
    """A provider subscription mapped to our vocabulary.

    ``status`` is one of ``active``, ``past_due``, ``canceled``, ``incomplete``.
    """

    id: str
    status: str
    customer_id: str
    cancel_at_period_end: bool
    current_period_start: datetime | None
    current_period_end: datetime | None
    price_ref: str = ""  # Stripe price id / Paystack plan code of the base fee
    email_token: str = ""
    latest_invoice_id: str = ""  # Stripe: the invoice of the last change (e.g. an upgrade's proration)
    # A subscription this change replaced that is still live at the provider (Paystack: the
    # old one could not be disabled): the caller must still cancel it.
    superseded_id: str = ""


@dataclass(frozen=True)
class ParsedEvent:
    """A verified webhook: ``id`` is the deduplication key, ``object`` the payload object.

    ``sequenced``: the id cannot tell a redelivery from a later, identical-looking event about
    the same object (``object_ref``) — e.g. a Paystack cancel after a resume. Such an event is
    a duplicate only of the latest event about that object (see ``billing.webhooks``)."""

    id: str
    type: str
    object: dict[str, Any]
    object_ref: str = ""
    sequenced: bool = False


class PaymentProvider(abc.ABC):
    name: str = ""

    @abc.abstractmethod
    def create_checkout(
        self,
        *,
        org,
        plan,
        price,
        customer_email: str,
        customer_id: str,
        success_url: str,
        cancel_url: str,
        reference: str,
    ) -> CheckoutSession:
        """Start a hosted checkout for ``price`` (a ``plans.Price``) of ``plan``.

        Stripe: Checkout Session in subscription mode with the base price and, when configured,
        the metered price. Paystack: transaction initialize with the plan code (the subscription
        is created by Paystack after the first charge). ``reference`` is our idempotency token.
        Raises ProviderError, ProviderUnavailable."""

    @abc.abstractmethod
    def verify_and_parse_webhook(self, *, body: bytes, headers: dict[str, str]) -> ParsedEvent:
        """Verify the signature over the *raw* body and parse it.

        Raises SignatureInvalid (bad/missing signature, stale timestamp, unparsable body).
        Never raises anything else and never calls the network."""

    @abc.abstractmethod
    def fetch_payment(self, *, reference: str) -> PaymentInfo:
        """Re-read a checkout/transaction from the provider. Raises ProviderError, ProviderUnavailable."""

    @abc.abstractmethod
    def fetch_subscription(self, *, subscription_id: str) -> SubscriptionInfo:
        """Re-read a subscription. Raises ProviderError, ProviderUnavailable."""

    def invoice_payment(self, *, invoice_id: str) -> PaymentInfo | None:
        """The payment of the provider's invoice ``invoice_id`` if it is paid now (Stripe):
        amount, currency and the base price it paid for. Providers without invoices of their
        own return None. Raises ProviderError, ProviderUnavailable."""
        return None

    @abc.abstractmethod
    def find_subscription(self, *, customer_id: str, price_ref: str) -> SubscriptionInfo | None:
        """The customer's live subscription to ``price_ref``, if any (Paystack creates it after
        the first charge, so the checkout cannot tell us its code). Raises ProviderUnavailable."""

    @abc.abstractmethod
    def cancel_subscription(self, *, subscription_id: str, email_token: str = "", at_period_end: bool = True) -> None:
        """Stop renewing (at period end by default). Raises ProviderError, ProviderUnavailable."""

    @abc.abstractmethod
    def resume_subscription(self, *, subscription_id: str, email_token: str = "") -> None:
        """Undo a cancel-at-period-end (renew again). Raises ProviderError, ProviderUnavailable."""

    @abc.abstractmethod
    def change_subscription_price(self, *, subscription_id: str, price, prorate: bool) -> SubscriptionInfo:
        """Move a subscription to another base price, charging the prorated difference now when
        ``prorate``. Raises ProviderError (e.g. card declined), ProviderUnavailable."""

    @abc.abstractmethod
    def refund(self, *, reference: str, amount_minor: int | None = None) -> str:
        """Refund a payment fully or partly; returns the refund id. Raises ProviderError,
        ProviderUnavailable, ProviderOutcomeUnknown (never refunds twice for one call)."""

    @abc.abstractmethod
    def refunded_minor(self, *, reference: str) -> int:
        """How much of payment ``reference`` is refunded (or being refunded) at the provider now."""

    def refund_reference(self, *, reference: str) -> str:
        """The reference to refund for a payment we know by ``reference`` (Stripe: a checkout
        session is refunded through its invoice's payment)."""
        return reference

    def expire_checkout(self, *, reference: str) -> bool:
        """Make an unpaid hosted checkout unpayable; False when the provider cannot (Paystack).
        Raises ProviderError when it is not open any more (e.g. paid meanwhile)."""
        return False

    @abc.abstractmethod
    def live_subscriptions(self, *, customer_id: str, price_ref: str) -> list[SubscriptionInfo]:
        """Every live subscription of the customer to ``price_ref`` (to find strays)."""

    @abc.abstractmethod
    def report_usage(
        self, *, customer_id: str, event_name: str, value: int, identifier: str, timestamp: datetime
    ) -> bool:
        """Tell the provider about metered usage. ``identifier`` is deterministic so reporting
        the same usage twice counts once. Returns False when the provider bills usage another
        way (Paystack: charged at period close with ``charge_usage``). Raises ProviderUnavailable."""

    @abc.abstractmethod
    def charge_usage(
        self, *, customer_email: str, authorization_code: str, amount_minor: int, currency: str, reference: str
    ) -> PaymentInfo:
        """Charge usage to the saved payment method. Stripe bills usage through meters, so it
        raises NotImplementedError. Raises ProviderError (declined), ProviderUnavailable."""

    @abc.abstractmethod
    def create_portal_session(self, *, customer_id: str, subscription_id: str, return_url: str) -> str:
        """A URL where the customer manages card and cancellation. Raises ProviderError, ProviderUnavailable."""
