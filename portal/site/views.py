"""Public site pages: API docs (Swagger UI, Redoc, per-operation pages, guides, problems,
Postman), pricing and status. All content is generated from the OpenAPI document and the
database."""

from __future__ import annotations

import re

from django.conf import settings
from django.middleware.csrf import get_token
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.csp import csp_override
from django.views.decorators.http import require_GET

from drf_spectacular.views import SpectacularAPIView
from rest_framework.response import Response

from accounts.permissions import has_capability
from portal import status as status_reads
from portal.money import format_price
from portal.problems import PROBLEM_TYPES, ProblemType
from portal.site import pricing, samples, schema
from portal.site.postman import postman_collection
from portal.site.trykey import DocsCredential, docs_credential


class SchemaApi(SpectacularAPIView):
    """``/api/schema/``: drf-spectacular's view (YAML, or JSON with ``?format=json``), served from
    the briefly cached document the docs pages use instead of regenerating it per request."""

    def _get_schema_response(self, request):
        if self.api_version or request.version or self._get_version_parameter(request):
            return super()._get_schema_response(request)
        return Response(
            data=schema.openapi_document(),
            headers={"Content-Disposition": f'inline; filename="{self._get_filename(request, None)}"'},
        )


# --- shared ------------------------------------------------------------------------------------


def _credential(request: HttpRequest) -> DocsCredential | None:
    """The signed-in developer's docs test key (never a live key), if they may have one."""
    user = request.user
    if not user.is_authenticated:
        return None
    membership = getattr(request, "membership", None)
    if not has_capability(membership, "manage_keys"):
        return None
    return docs_credential(user=user, org=request.org)


def _base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri("/").rstrip("/")


def _docs_context(request: HttpRequest, **extra) -> dict:
    credential = _credential(request)
    context = {
        "credential": credential,
        "can_manage_keys": has_capability(getattr(request, "membership", None), "manage_keys"),
        "docs_section": extra.pop("docs_section", ""),
    }
    context.update(extra)
    return context


# --- API reference -------------------------------------------------------------------------------


@never_cache
@require_GET
def docs_swagger(request: HttpRequest) -> HttpResponse:
    context = _docs_context(request, docs_section="reference")
    credential = context["credential"]
    context["swagger_config"] = {
        "schemaUrl": reverse("site:schema") + "?format=json",
        "apiKey": credential.key if credential else None,
        "apiKeyScheme": schema.API_KEY_SCHEME,
        "csrfToken": get_token(request),
    }
    return render(request, "site/docs_swagger.html", context)


# Redoc builds a search index in a blob: web worker; allow exactly that on this page.
_REDOC_CSP = {**settings.SECURE_CSP, "worker-src": ["'self'", "blob:"]}


@csp_override(_REDOC_CSP)
@require_GET
def docs_redoc(request: HttpRequest) -> HttpResponse:
    return render(request, "site/docs_redoc.html", {"docs_section": "redoc", "schema_url": reverse("site:schema") + "?format=json"})


@require_GET
def docs_operations(request: HttpRequest) -> HttpResponse:
    operations = schema.operations(schema.openapi_document())
    groups: dict[str, list] = {}
    for op in operations:
        groups.setdefault(op["tag"], []).append(op)
    return render(request, "site/docs_operations.html", {"groups": groups, "docs_section": "operations"})


@never_cache
@require_GET
def docs_operation(request: HttpRequest, operation_id: str) -> HttpResponse:
    document = schema.openapi_document()
    op = next((o for o in schema.operations(document) if o["id"] == operation_id), None)
    if op is None:
        raise Http404("No such operation")
    context = _docs_context(request, docs_section="operations")
    credential = context["credential"]
    code_samples = samples.operation_samples(
        spec=document,
        path=op["path"],
        method=op["method"].lower(),
        operation=op["operation"],
        base_url=_base_url(request),
        api_key=credential.key if credential else None,
    )
    operation = op["operation"]
    parameters = [samples.resolve(p, document) for p in operation.get("parameters", [])]
    responses = []
    for code, response in sorted(operation.get("responses", {}).items()):
        response = samples.resolve(response, document)
        content = response.get("content", {})
        media_type = next(iter(content), None)
        example = None
        if media_type:
            media = content[media_type]
            if media.get("examples"):
                example = samples.resolve(next(iter(media["examples"].values())), document).get("value")
            else:
                example = samples.example_for(media.get("schema", {}), document)
        responses.append({
            "code": code,
            "description": response.get("description", ""),
            "media_type": media_type,
            "example": example,
            "headers": list(response.get("headers", {})),
        })
    request_example = samples.operation_request(
        spec=document, path=op["path"], method=op["method"].lower(), operation=operation, base_url=""
    )
    context.update({
        "op": op,
        "description_html": inline_markdown(op["description"]),
        "parameters": parameters,
        "responses": responses,
        "request_body": request_example["body"],
        "uses_key": request_example["uses_key"],
        "code_samples": [
            {"lang": s["lang"], "label": s["label"], "source": s["source"], "id": f"sample-{s['lang']}"}
            for s in code_samples
        ],
        "price_rows": _price_rows(op["price"]),
    })
    return render(request, "site/docs_operation.html", context)


def inline_markdown(text: str) -> str:
    """The little markdown operation descriptions use (**bold**, `code`, paragraphs), escaped first."""
    html = escape(text)
    html = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", html)
    html = re.sub(r"`([^`]+)`", r"<code>\1</code>", html)
    paragraphs = [p.replace("\n", "<br>") for p in re.split(r"\n{2,}", html.strip()) if p]
    return mark_safe("".join(f"<p>{p}</p>" for p in paragraphs))  # noqa: S308 - escaped above


def _price_rows(price: dict | None) -> list[dict]:
    if not price:
        return []
    rows = []
    for plan in price["plans"].values():
        for currency, cp in plan["currencies"].items():
            rows.append({
                "plan": plan["name"],
                "currency": currency,
                "included": cp["included_units"],
                "unit_price": format_price(cp["unit_price"], currency),
            })
    return rows


# --- Guides --------------------------------------------------------------------------------------


def _first_metered_operation() -> dict | None:
    ops = schema.operations(schema.openapi_document())
    gateway = [o for o in ops if o["gateway"] and "auth" not in o["path"]]
    return next((o for o in gateway if o["method"] == "GET"), None) or next(iter(gateway), None)


@never_cache
@require_GET
def docs_getting_started(request: HttpRequest) -> HttpResponse:
    context = _docs_context(request, docs_section="getting-started")
    document = schema.openapi_document()
    first = _first_metered_operation()
    credential = context["credential"]
    if first:
        curl = samples.operation_samples(
            spec=document, path=first["path"], method=first["method"].lower(), operation=first["operation"],
            base_url=_base_url(request), api_key=credential.key if credential else None,
        )
        context["first_call"] = {"op": first, "samples": curl}
    context["free_plan"] = next((p for p in pricing.pricing_plans(currency=settings.DEFAULT_CURRENCY) if p.code == "free"), None)
    return render(request, "site/docs_getting_started.html", context)


@require_GET
def docs_authentication(request: HttpRequest) -> HttpResponse:
    return render(request, "site/docs_authentication.html", _docs_context(request, docs_section="authentication",
                                                                        jwt_ttl=settings.JWT_TTL_SECONDS))


def problem_types() -> list[ProblemType]:
    """Every problem type the API can return, from the one registry (``portal.problems``)."""
    return sorted(PROBLEM_TYPES.values(), key=lambda p: (p.status, p.slug))


@require_GET
def docs_problems(request: HttpRequest) -> HttpResponse:
    return render(request, "site/docs_problems.html", {"problems": problem_types(), "docs_section": "problems"})


@never_cache
@require_GET
def docs_postman(request: HttpRequest) -> JsonResponse:
    credential = _credential(request)
    collection = postman_collection(
        document=schema.openapi_document(), base_url=_base_url(request), api_key=credential.key if credential else None
    )
    response = JsonResponse(collection, json_dumps_params={"indent": 2})
    if request.GET.get("download"):
        response["Content-Disposition"] = 'attachment; filename="tollgate.postman_collection.json"'
    return response


# --- Pricing -------------------------------------------------------------------------------------


@require_GET
def pricing_page(request: HttpRequest) -> HttpResponse:
    currencies = pricing.pricing_currencies()
    currency = request.GET.get("currency", "").upper()
    if currency not in currencies:
        currency = currencies[0] if currencies else settings.DEFAULT_CURRENCY
    plans = pricing.pricing_plans(currency=currency)
    current_plan_code = None
    if request.user.is_authenticated and getattr(request, "org", None) is not None:
        from plans.selectors import plan_for_org

        try:
            current_plan_code = plan_for_org(org_id=request.org.pk).code
        except Exception:  # no Free plan seeded yet: nothing to mark as current
            current_plan_code = None
    for card in plans:
        card.cta = _plan_cta(request, card, currency, current_plan_code)
    return render(request, "site/pricing.html", {
        "plans": plans,
        "currency": currency,
        "currencies": currencies,
        "meter_rows": pricing.meter_rows(currency=currency, plans=plans),
        "sales_email": settings.SALES_EMAIL,
        "current_plan_code": current_plan_code,
    })


def _checkout_post_url() -> str | None:
    """Billing's checkout endpoint when it takes ``plan`` by POST (issue 5), else None."""
    try:
        return reverse("billing:checkout")
    except NoReverseMatch:
        return None


def _plan_cta(request: HttpRequest, card: pricing.PlanCard, currency: str, current: str | None) -> dict:
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
        back = f"{reverse('site:pricing')}?{urlencode({'currency': currency})}#plan-{card.code}"
        return {"label": f"Start with {card.name}", "url": f"{signup}?{urlencode({'next': back})}"}
    if not has_capability(getattr(request, "membership", None), "manage_billing"):
        return {"label": "Ask an owner to upgrade", "url": reverse("dashboard"), "disabled": True}
    post_url = _checkout_post_url()
    if post_url:
        return {"label": f"Upgrade to {card.name}", "form_action": post_url, "plan": card.code, "currency": currency}
    return {"label": f"Upgrade to {card.name}", "url": f"/billing/checkout/{card.code}/?{urlencode({'currency': currency})}"}


# --- Status --------------------------------------------------------------------------------------


def _status_payload() -> dict:
    states = status_reads.component_states()
    uptime = status_reads.uptime_by_day()
    return {
        "states": states,
        "overall": status_reads.overall_state(states),
        "uptime": uptime,
        "latency": status_reads.endpoint_latency(),
        "incidents": status_reads.incidents_recent(),
    }


@never_cache
@require_GET
def status_page(request: HttpRequest) -> HttpResponse:
    payload = _status_payload()
    components = []
    for state in payload["states"]:
        series = payload["uptime"][state.code]
        components.append({
            "state": state,
            "label": status_reads.STATE_LABELS[state.state],
            "series": series,
            "uptime": status_reads.uptime_percent(series),
        })
    return render(request, "site/status.html", {
        "overall": payload["overall"],
        "overall_label": {
            "operational": "All systems operational",
            "degraded": "Some systems are degraded",
            "outage": "Partial or major outage",
            "unknown": "Status unknown — probes have not reported yet",
        }[payload["overall"]],
        "components": components,
        "latency": payload["latency"],
        "open_incidents": [i for i in payload["incidents"] if i.is_open],
        "past_incidents": [i for i in payload["incidents"] if not i.is_open],
        "now": timezone.now(),
    })


@never_cache
@require_GET
def status_json(request: HttpRequest) -> JsonResponse:
    payload = _status_payload()
    return JsonResponse({
        "status": payload["overall"],
        "generated_at": timezone.now().isoformat(),
        "components": [
            {
                "code": s.code,
                "name": s.name,
                "status": s.state,
                "detail": s.detail,
                "checked_at": s.checked_at.isoformat() if s.checked_at else None,
                "latency_ms": s.latency_ms,
                "uptime_90d": status_reads.uptime_percent(payload["uptime"][s.code]),
                "daily": payload["uptime"][s.code],
            }
            for s in payload["states"]
        ],
        "latency_p95": payload["latency"],
        "incidents": [
            {
                "id": i.pk,
                "title": i.title,
                "impact": i.impact,
                "status": i.status,
                "components": i.components,
                "started_at": i.started_at.isoformat(),
                "resolved_at": i.resolved_at.isoformat() if i.resolved_at else None,
                "updates": [
                    {"status": u.status, "body": u.body, "posted_at": u.posted_at.isoformat()} for u in i.updates.all()
                ],
            }
            for i in payload["incidents"]
        ],
    })
