"""Test cards (Stripe's well-known numbers, used for both providers):

* ``4242 4242 4242 4242`` succeeds;
* ``4000 0000 0000 0002`` is declined;
* ``4000 0025 0000 3155`` requires authentication (a 3-D Secure-style confirm step).
"""

from __future__ import annotations

CARD_SUCCEEDS = "4242424242424242"
CARD_DECLINED = "4000000000000002"
CARD_REQUIRES_AUTH = "4000002500003155"


def card_outcome(card: str) -> str:
    """``succeeded``, ``declined`` or ``requires_action`` for a card number (spaces ignored)."""
    digits = "".join(ch for ch in str(card) if ch.isdigit())
    if digits == CARD_SUCCEEDS:
        return "succeeded"
    if digits == CARD_REQUIRES_AUTH:
        return "requires_action"
    return "declined"
