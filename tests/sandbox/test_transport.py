"""The sandbox transport decodes what the real Stripe SDK sends."""

from __future__ import annotations

from sandbox.transport import form_decode


def test_form_decoding_matches_stripe_bracket_notation():
    encoded = (
        "line_items[0][price]=p1&line_items[0][quantity]=1&line_items[1][price]=p2&metadata[org_id]=4&mode=subscription"
    )
    assert form_decode(encoded) == {
        "line_items": [{"price": "p1", "quantity": "1"}, {"price": "p2"}],
        "metadata": {"org_id": "4"},
        "mode": "subscription",
    }
