"""The API docs: Swagger UI, Redoc, per-operation pages, guides, problems, the Postman
collection and the OpenAPI schema itself. All content is generated from the OpenAPI document
and the database."""

from __future__ import annotations

import re

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.csp import csp_override
from django.views.decorators.http import require_GET
from drf_spectacular.views import SpectacularAPIView

from accounts.models import Organization
from accounts.permissions import has_capability
from accounts.scopes import SCOPES
from portal.money import format_price
from portal.problems import PROBLEM_TYPES, ProblemType
from public import openapi, samples
from public.examples import example_for, resolve
from public.postman import postman_collection
from public.pricing import pricing_plans
from public.sample_request import operation_request
from public.schema import API_KEY_SCHEME
from public.trykey import DocsCredential, docs_credential


class SchemaApi(SpectacularAPIView):
    """``/api/schema/``: drf-spectacular's view (YAML, or JSON with ``?format=json``), serving
    the merged document the viewer may see (Tollgate's API and the visible API products), as
    cached and rendered by ``public.openapi`` instead of regenerating it per request."""

    def _get_schema_response(self, request):
        if self.api_version or request.version or self._get_version_parameter(request):
            return super()._get_schema_response(request)
        renderer, media_type = request.accepted_renderer, request.accepted_media_type
        body = openapi.openapi_rendered(org=_org(request), renderer=renderer, media_type=media_type)
        content_type = f"{media_type}; charset={renderer.charset}" if renderer.charset else media_type
        response = HttpResponse(body, content_type=content_type)
        response["Content-Disposition"] = f'inline; filename="{self._get_filename(request, None)}"'
        return response


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


def _org(request: HttpRequest) -> Organization | None:
    """The signed-in member's active organization (its private API products are documented
    for it), or None for a visitor."""
    return getattr(getattr(request, "_request", request), "org", None)


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
        "schemaUrl": reverse("public:schema") + "?format=json",
        "apiKey": credential.key if credential else None,
        "apiKeyScheme": API_KEY_SCHEME,
        "csrfToken": get_token(request),
    }
    return render(request, "public/docs_swagger.html", context)


# Redoc builds a search index in a blob: web worker; allow exactly that on this page.
_REDOC_CSP = {**settings.SECURE_CSP, "worker-src": ["'self'", "blob:"]}


@csp_override(_REDOC_CSP)
@require_GET
def docs_redoc(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "public/docs_redoc.html",
        {"docs_section": "redoc", "schema_url": reverse("public:schema") + "?format=json"},
    )


@require_GET
def docs_operations(request: HttpRequest) -> HttpResponse:
    operations = openapi.operations(openapi.openapi_document(org=_org(request)))
    # One section per API product (its document's tags inside), then Tollgate's own API by tag (the platform API).
    sections: dict[str, dict] = {}
    for op in operations:
        product = op["product"]
        key = f"product:{product['slug']}" if product else ""
        section = sections.setdefault(key, {"product": product, "groups": {}})
        tag = (product["tag"] or "Operations") if product else op["tag"]
        section["groups"].setdefault(tag, []).append(op)
    return render(
        request,
        "public/docs_operations.html",
        {"sections": list(sections.values()), "docs_section": "operations"},
    )


@never_cache
@require_GET
def docs_operation(request: HttpRequest, operation_id: str) -> HttpResponse:
    document = openapi.openapi_document(org=_org(request))
    op = next((o for o in openapi.operations(document) if o["id"] == operation_id), None)
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
    parameters = [resolve(p, document) for p in operation.get("parameters", [])]
    responses = []
    for code, response in sorted(operation.get("responses", {}).items()):
        response = resolve(response, document)
        content = response.get("content", {})
        media_type = next(iter(content), None)
        example = None
        if media_type:
            media = content[media_type]
            if media.get("examples"):
                example = resolve(next(iter(media["examples"].values())), document).get("value")
            else:
                example = example_for(media.get("schema", {}), document)
        responses.append(
            {
                "code": code,
                "description": response.get("description", ""),
                "media_type": media_type,
                "example": example,
                "headers": list(response.get("headers", {})),
            }
        )
    request_example = operation_request(
        spec=document, path=op["path"], method=op["method"].lower(), operation=operation, base_url=""
    )
    context.update(
        {
            "op": op,
            "description_html": inline_markdown(op["description"]),
            "parameters": parameters,
            "responses": responses,
            "request_body": request_example["body"],
            "request_content_type": request_example["content_type"],
            "request_body_kind": request_example["body_kind"],
            "uses_key": request_example["uses_key"],
            "code_samples": [
                {"lang": s["lang"], "label": s["label"], "source": s["source"], "id": f"sample-{s['lang']}"}
                for s in code_samples
            ],
            "price_rows": _price_rows(op["price"]),
        }
    )
    return render(request, "public/docs_operation.html", context)


def inline_markdown(text: str) -> str:
    """The little markdown operation descriptions use (**bold**, `code`, paragraphs), escaped first."""
    html = escape(text)
    html = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", html)
    html = re.sub(r"`([^`]+)`", r"<code>\1</code>", html)
    paragraphs = [p.replace("\n", "<br>") for p in re.split(r"\n{2,}", html.strip()) if p]
    return mark_safe("".join(f"<p>{p}</p>" for p in paragraphs))  # noqa: S308 - escaped above


def _price_rows(price: dict | None) -> list[dict]:
    if not price or price.get("free"):
        return []
    rows = []
    for plan in price["plans"].values():
        for currency, cp in plan["currencies"].items():
            rows.append(
                {
                    "plan": plan["name"],
                    "currency": currency,
                    "included": cp["included_units"],
                    "unit_price": format_price(cp["unit_price"], currency),
                }
            )
    return rows


# --- Guides --------------------------------------------------------------------------------------


def _first_metered_operation(document: dict) -> dict | None:
    ops = openapi.operations(document)
    gateway = [o for o in ops if o["gateway"] and "auth" not in o["path"]]
    return next((o for o in gateway if o["method"] == "GET"), None) or next(iter(gateway), None)


@never_cache
@require_GET
def docs_getting_started(request: HttpRequest) -> HttpResponse:
    context = _docs_context(request, docs_section="getting-started")
    document = openapi.openapi_document(org=_org(request))
    first = _first_metered_operation(document)
    credential = context["credential"]
    if first:
        curl = samples.operation_samples(
            spec=document,
            path=first["path"],
            method=first["method"].lower(),
            operation=first["operation"],
            base_url=_base_url(request),
            api_key=credential.key if credential else None,
        )
        context["first_call"] = {"op": first, "samples": curl}
    context["free_plan"] = next(
        (p for p in pricing_plans(currency=settings.DEFAULT_CURRENCY) if p.code == "free"), None
    )
    return render(request, "public/docs_getting_started.html", context)


@never_cache
@require_GET
def docs_authentication(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "public/docs_authentication.html",
        _docs_context(
            request,
            docs_section="authentication",
            jwt_ttl=settings.JWT_TTL_SECONDS,
            token_scopes=list(SCOPES),
        ),
    )


def problem_types() -> list[ProblemType]:
    """Every problem type the API can return, from the one registry (``portal.problems``)."""
    return sorted(PROBLEM_TYPES.values(), key=lambda p: (p.status, p.slug))


@require_GET
def docs_problems(request: HttpRequest) -> HttpResponse:
    return render(request, "public/docs_problems.html", {"problems": problem_types(), "docs_section": "problems"})


@never_cache
@require_GET
def docs_postman(request: HttpRequest) -> JsonResponse:
    credential = _credential(request)
    collection = postman_collection(
        document=openapi.openapi_document(org=_org(request)),
        base_url=_base_url(request),
        api_key=credential.key if credential else None,
    )
    response = JsonResponse(collection, json_dumps_params={"indent": 2})
    if request.GET.get("download"):
        response["Content-Disposition"] = 'attachment; filename="tollgate.postman_collection.json"'
    return response
