"""The pricing page: every public plan in the chosen currency, with the button that fits the
visitor (sign up, upgrade through billing's checkout, contact sales, or "your current plan"),
and what each priced operation of the visible API products costs on each plan."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from accounts.permissions import has_capability
from plans.models import Plan
from plans.selectors import plan_for_org
from public.pricing import PlanCard, meter_rows, pricing_currencies, pricing_plans
from public.product_docs.pricing_page import product_price_sections


@require_GET
def pricing_page(request: HttpRequest) -> HttpResponse:
    currencies = pricing_currencies()
    currency = request.GET.get("currency", "").upper()
    if currency not in currencies:
        currency = currencies[0] if currencies else settings.DEFAULT_CURRENCY
    plans = pricing_plans(currency=currency)
    current_plan_code = None
    if request.user.is_authenticated and getattr(request, "org", None) is not None:
        try:
            current_plan_code = plan_for_org(org_id=request.org.pk).code
        except Plan.DoesNotExist:  # no Free plan seeded yet: nothing to mark as current
            current_plan_code = None
    for card in plans:
        card.cta = _plan_cta(request, card, currency, current_plan_code)
    return render(
        request,
        "public/pricing.html",
        {
            "plans": plans,
            "currency": currency,
            "currencies": currencies,
            "meter_rows": meter_rows(currency=currency, plans=plans),
            "sales_email": settings.SALES_EMAIL,
            "current_plan_code": current_plan_code,
            # The API products this visitor may see (private ones only for their organization).
            "product_sections": product_price_sections(org=getattr(request, "org", None), currency=currency),
        },
    )


def _plan_cta(request: HttpRequest, card: PlanCard, currency: str, current: str | None) -> dict:
    """The button under a tier: current plan, sign up, contact sales, or checkout."""
    if card.code == current:
        return {"label": "Your current plan", "url": reverse("dashboard"), "disabled": True}
    if card.price is None:
        return {"label": "Contact sales", "url": f"mailto:{settings.SALES_EMAIL}?subject={card.name}%20plan"}
    signup = reverse("account_signup")
    if card.is_free:
        if request.user.is_authenticated:
            return {"label": "Go to dashboard", "url": reverse("dashboard")}
        return {"label": "Start free", "url": signup}
    if not request.user.is_authenticated:
        # Sign up first, then back here to pick the plan (checkout needs an organization).
        back = f"{reverse('public:pricing')}?{urlencode({'currency': currency})}#plan-{card.code}"
        return {"label": f"Start with {card.name}", "url": f"{signup}?{urlencode({'next': back})}"}
    if not has_capability(getattr(request, "membership", None), "manage_billing"):
        return {"label": "Ask an owner to upgrade", "url": reverse("dashboard"), "disabled": True}
    return {
        "label": f"Upgrade to {card.name}",
        "form_action": reverse("billing:checkout"),
        "plan": card.code,
        "currency": currency,
    }
