"""Hosted pages of the provider sandbox: checkout with test cards, 3-D Secure step, portal.

They stand in for checkout.stripe.com / checkout.paystack.com and are served only for a
provider that has no real secret key configured.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from sandbox import actions, store
from sandbox.cards import CARD_DECLINED, CARD_SUCCEEDS, card_outcome
from sandbox.config import provider_on_sandbox

# Where a hosted page sends the customer back when the merchant gave no URL (Paystack's
# manage link carries none): the merchant's plan page, as the real providers are set up.
RETURN_FALLBACK = "/billing/"


def _checkout_object(provider_name: str, reference: str) -> dict:
    if provider_name not in ("stripe", "paystack") or not provider_on_sandbox(provider_name):
        raise Http404("The sandbox is off for this provider.")
    kind = "checkout.session" if provider_name == "stripe" else "transaction"
    obj = store.get(provider_name, kind, reference)
    if obj is None:
        raise Http404("No such checkout.")
    return obj


def _summary(provider_name: str, obj: dict) -> dict:
    if provider_name == "stripe":
        return {
            "amount_minor": obj["amount_total"],
            "currency": obj["currency"].upper(),
            "email": obj.get("customer_email") or "",
            "done": obj["status"] == "complete",
            "plan": (obj.get("metadata") or {}).get("plan", ""),
            "cancel_url": obj.get("cancel_url") or RETURN_FALLBACK,
        }
    metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    return {
        "amount_minor": obj["amount"],
        "currency": obj["currency"],
        "email": obj["customer"]["email"],
        "done": obj["status"] == "success",
        "plan": metadata.get("plan", ""),
        "cancel_url": metadata.get("cancel_action") or RETURN_FALLBACK,
    }


def _return_url(provider_name: str, obj: dict) -> str:
    if provider_name == "stripe":
        return obj["success_url"].replace("{CHECKOUT_SESSION_ID}", obj["id"])
    url = obj.get("callback_url_sandbox") or RETURN_FALLBACK
    return f"{url}{'&' if '?' in url else '?'}trxref={obj['reference']}&reference={obj['reference']}"


def _complete(provider_name: str, reference: str, card: str) -> None:
    if provider_name == "stripe":
        actions.stripe_complete_checkout(reference, card)
    else:
        actions.paystack_complete_transaction(reference, card)


@require_http_methods(["GET", "POST"])
def checkout_page(request: HttpRequest, provider_name: str, reference: str) -> HttpResponse:
    obj = _checkout_object(provider_name, reference)
    summary = _summary(provider_name, obj)
    if summary["done"]:
        return redirect(_return_url(provider_name, obj))
    if obj.get("status") == "expired":  # Stripe: superseded by a newer checkout
        return render(
            request,
            "sandbox/checkout.html",
            {
                "provider": provider_name,
                "reference": reference,
                "summary": summary,
                "error": "This checkout has expired; start a new one from the merchant's site.",
            },
            status=410,
        )
    error = ""
    if request.method == "POST":
        card = request.POST.get("card_number", "")
        outcome = card_outcome(card)
        if outcome == "succeeded":
            _complete(provider_name, reference, card)
            return redirect(
                _return_url(
                    provider_name,
                    store.get(
                        provider_name, "checkout.session" if provider_name == "stripe" else "transaction", reference
                    ),
                )
            )
        if outcome == "requires_action":
            obj["pending_card_sandbox"] = card
            store.put(provider_name, "checkout.session" if provider_name == "stripe" else "transaction", reference, obj)
            return redirect("sandbox:authenticate", provider_name, reference)
        error = "Your card was declined. Try 4242 4242 4242 4242."
    return render(
        request,
        "sandbox/checkout.html",
        {"provider": provider_name, "reference": reference, "summary": summary, "error": error},
        status=402 if error else 200,
    )


@require_http_methods(["GET", "POST"])
def authenticate_page(request: HttpRequest, provider_name: str, reference: str) -> HttpResponse:
    obj = _checkout_object(provider_name, reference)
    card = obj.get("pending_card_sandbox")
    if not card:
        return redirect("sandbox:checkout", provider_name, reference)
    if request.method == "POST":
        if request.POST.get("action") == "complete":
            _complete(provider_name, reference, card)
            kind = "checkout.session" if provider_name == "stripe" else "transaction"
            return redirect(_return_url(provider_name, store.get(provider_name, kind, reference)))
        obj.pop("pending_card_sandbox", None)
        store.put(provider_name, "checkout.session" if provider_name == "stripe" else "transaction", reference, obj)
        return render(
            request,
            "sandbox/checkout.html",
            {
                "provider": provider_name,
                "reference": reference,
                "summary": _summary(provider_name, obj),
                "error": "Authentication failed; the card was not charged.",
            },
            status=402,
        )
    return render(
        request,
        "sandbox/authenticate.html",
        {"provider": provider_name, "reference": reference, "summary": _summary(provider_name, obj)},
    )


@require_http_methods(["GET", "POST"])
def portal_page(request: HttpRequest, provider_name: str, object_id: str) -> HttpResponse:
    if provider_name not in ("stripe", "paystack") or not provider_on_sandbox(provider_name):
        raise Http404("The sandbox is off for this provider.")
    if provider_name == "stripe":
        session = store.get("stripe", "billing_portal.session", object_id) or {}
        subs = [
            s
            for s in store.all_of("stripe", "subscription")
            if s["customer"] == session.get("customer") and s["status"] != "canceled"
        ]
        sub = subs[-1] if subs else None
        return_url = session.get("return_url") or RETURN_FALLBACK
    else:
        sub = store.get("paystack", "subscription", object_id)
        return_url = RETURN_FALLBACK
    if sub is None:
        raise Http404("No such subscription.")
    sub_id = sub["id"] if provider_name == "stripe" else sub["subscription_code"]
    notice = ""
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "cancel":
            actions.subscription_cancel_at_period_end(provider_name, sub_id, email_token=sub.get("email_token", ""))
            notice = "Subscription canceled at period end."
        elif action in ("renew_ok", "renew_fail"):
            card = CARD_SUCCEEDS if action == "renew_ok" else CARD_DECLINED
            renew = actions.stripe_renewal if provider_name == "stripe" else actions.paystack_renewal
            notice = f"Renewal charge {renew(sub_id, card=card)}."
        elif action == "return":
            return redirect(return_url)
        sub = store.get(provider_name, "subscription", sub_id)
    return render(
        request,
        "sandbox/portal.html",
        {"provider": provider_name, "sub": sub, "sub_id": sub_id, "notice": notice, "return_url": return_url},
    )
