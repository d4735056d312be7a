"""The operator's API products: list and create, the catalogue of one product with its price
rules, and importing a new version of its OpenAPI document (preview, then apply)."""

from __future__ import annotations

import hashlib
from typing import Any

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import User
from console.forms import DocumentImportForm, OperationForm, ProductForm
from plans.models import Plan
from products.diff import ImportPreview
from products.document_import import DocumentInvalid, document_apply, document_diff
from products.models import ApiProduct, Operation
from products.selectors import (
    document_current,
    operation_price_preview,
    operations_by_tag,
    products_for_operator,
)
from products.services import ProductInvalid, operation_update, product_create, product_update

# An uploaded document waits here between its preview and the Apply button (so a multi-MB
# document is not sent back and forth through the browser).
PENDING_SECONDS = 3600


def _htmx(request: HttpRequest) -> bool:
    """Asked by htmx for a fragment (django-htmx's middleware sets ``request.htmx``)."""
    return bool(getattr(request, "htmx", False))


def _product(slug: str) -> ApiProduct:
    return get_object_or_404(ApiProduct, slug=slug)


def _errors_to_form(form: Any, problem: ProductInvalid) -> None:
    for field, field_errors in (problem.extra.get("errors") or {}).items():
        for error in field_errors:
            form.add_error(field if field in form.fields else None, error)


@staff_member_required
@require_http_methods(["GET", "POST"])
def product_list(request: HttpRequest) -> HttpResponse:
    form = ProductForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            product = product_create(**form.service_kwargs(keep_secret=False))
        except ProductInvalid as problem:
            _errors_to_form(form, problem)
        else:
            messages.success(request, f"{product.name} created. Import its OpenAPI document next.")
            return redirect("console:product_import", slug=product.slug)
    context = {"products": products_for_operator(), "form": form, "form_open": request.method == "POST"}
    return render(request, "console/products/list.html", context, status=422 if form.errors else 200)


def _plans_for(product: ApiProduct) -> list[Plan]:
    included = list(product.plans.all())
    return included or list(Plan.objects.filter(is_active=True, is_public=True).order_by("sort_order", "id"))


def _detail_context(product: ApiProduct, **extra: Any) -> dict[str, Any]:
    groups = operations_by_tag(product=product)
    operations = [op for _, ops in groups for op in ops]
    prices = operation_price_preview(operations=operations, plans=_plans_for(product))
    for op in operations:
        op.prices = prices[op.pk]  # type: ignore[attr-defined]  # for the template only
    settings_form = ProductForm(
        initial={
            **{
                name: getattr(product, name)
                for name in ProductForm.base_fields
                if name not in {"organizations", "plans", "upstream_auth_secret"}
            },
            "organizations": ", ".join(product.organizations.order_by("slug").values_list("slug", flat=True)),
            "plans": list(product.plans.all()),
        }
    )
    return {
        "product": product,
        "groups": groups,
        "live_count": sum(1 for op in operations if op.removed_at is None),
        "document": document_current(product=product),
        "settings_form": settings_form,
        **extra,
    }


@staff_member_required
def product_detail(request: HttpRequest, slug: str) -> HttpResponse:
    return render(request, "console/products/detail.html", _detail_context(_product(slug)))


@staff_member_required
@require_POST
def product_settings(request: HttpRequest, slug: str) -> HttpResponse:
    product = _product(slug)
    form = ProductForm(request.POST)
    if form.is_valid():
        data = form.service_kwargs(keep_secret=True)
        data.pop("slug")  # the slug names the product in URLs and CI scripts: not editable here
        try:
            product_update(product=product, **data)
        except ProductInvalid as problem:
            _errors_to_form(form, problem)
        else:
            messages.success(request, "Product settings saved.")
            return redirect("console:product", slug=product.slug)
    product.refresh_from_db()
    context = _detail_context(product, settings_form=form, settings_open=True)
    return render(request, "console/products/detail.html", context, status=422)


def _operation_row(request: HttpRequest, operation: Operation, **extra: Any) -> HttpResponse:
    product = operation.product
    prices = operation_price_preview(operations=[operation], plans=_plans_for(product))
    operation.prices = prices[operation.pk]  # type: ignore[attr-defined]
    context = {"product": product, "op": operation, **extra}
    return render(request, "console/products/_operation.html", context, status=422 if extra.get("form") else 200)


def _operation_for(slug: str, pk: int) -> Operation:
    return get_object_or_404(Operation.objects.select_related("meter", "product"), pk=pk, product__slug=slug)


@staff_member_required
@require_POST
def operation_toggle(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    operation = _operation_for(slug, pk)
    try:
        operation = operation_update(operation=operation, enabled=request.POST.get("enabled") == "on")
    except ProductInvalid as problem:
        operation.refresh_from_db()
        return _operation_row(
            request, operation, error=" ".join(msg for msgs in problem.extra["errors"].values() for msg in msgs)
        )
    if not _htmx(request):
        return redirect("console:product", slug=slug)
    return _operation_row(request, operation)


@staff_member_required
@require_http_methods(["GET", "POST"])
def operation_edit(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """GET: the edit form (loaded when the operator opens it); POST: save, answer the row."""
    operation = _operation_for(slug, pk)
    if request.method == "GET":
        form = OperationForm(
            initial={
                "meter": operation.meter.code if operation.meter else None,
                "unit_rule": operation.unit_rule,
                "units_fixed": operation.units_fixed,
                "unit_source": operation.unit_source,
                "max_units": operation.max_units,
                "required_scope": operation.required_scope,
            }
        )
        context = {"product": operation.product, "op": operation, "form": form}
        return render(request, "console/products/_operation_form.html", context)
    form = OperationForm(request.POST)
    if form.is_valid():
        try:
            operation = operation_update(operation=operation, **form.service_kwargs())
        except ProductInvalid as problem:
            _errors_to_form(form, problem)
            operation.refresh_from_db()
        else:
            if not _htmx(request):
                messages.success(request, f"{operation.operation_id} saved.")
                return redirect("console:product", slug=slug)
            return _operation_row(request, operation, saved=True)
    return _operation_row(request, operation, form=form)


def _pending_key(product: ApiProduct, sha256: str) -> str:
    return f"console:import:{product.pk}:{sha256}"


@staff_member_required
@require_http_methods(["GET", "POST"])
def product_import(request: HttpRequest, slug: str) -> HttpResponse:
    product = _product(slug)
    form = DocumentImportForm(request.POST or None, request.FILES or None)
    preview: ImportPreview | None = None
    sha256 = ""
    if request.method == "POST" and form.is_valid():
        text = form.cleaned_data["document"]
        preview = document_diff(product=product, text=text)
        if preview.ok:
            sha256 = hashlib.sha256(text.encode("utf-8", errors="surrogatepass")).hexdigest()
            cache.set(_pending_key(product, sha256), text, PENDING_SECONDS)
    context = {
        "product": product,
        "form": form,
        "preview": preview,
        "sha256": sha256,
        "document": document_current(product=product),
    }
    failed = bool(form.errors) or (preview is not None and not preview.ok)
    return render(request, "console/products/import.html", context, status=422 if failed else 200)


@staff_member_required
@require_POST
def product_import_apply(request: HttpRequest, slug: str) -> HttpResponse:
    product = _product(slug)
    text = cache.get(_pending_key(product, request.POST.get("sha256", "")))
    if text is None:
        messages.error(request, "That preview has expired. Upload the document again.")
        return redirect("console:product_import", slug=slug)
    try:
        preview = document_diff(product=product, text=text)
        document = document_apply(
            product=product,
            text=text,
            user=request.user if isinstance(request.user, User) else None,
            enable_new=request.POST.get("enable_new") == "on",
        )
    except DocumentInvalid:
        messages.error(request, "The document no longer imports; upload it again to see why.")
        return redirect("console:product_import", slug=slug)
    cache.delete(_pending_key(product, request.POST.get("sha256", "")))
    messages.success(
        request,
        f"Imported version {document.version}: {len(preview.added)} added, "
        f"{len(preview.changed)} changed, {len(preview.removed)} removed.",
    )
    return redirect("console:product", slug=slug)
