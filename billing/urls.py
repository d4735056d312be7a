from __future__ import annotations

from django.urls import path

from billing import apis, views

app_name = "billing"

urlpatterns = [
    path("billing/", views.overview, name="overview"),
    path("billing/checkout/", views.checkout, name="checkout"),
    path("billing/checkout/return/<str:provider_name>/", views.checkout_return, name="checkout_return"),
    path("billing/cancel/", views.cancel, name="cancel"),
    path("billing/resume/", views.resume, name="resume"),
    path("billing/manage/", views.manage, name="manage"),
    path("billing/invoices/", views.invoice_list, name="invoice_list"),
    path("billing/invoices/<str:number>/", views.invoice_detail, name="invoice_detail"),
    path("billing/card/plan/", views.card_plan, name="card_plan"),
    path("billing/card/invoices/", views.card_invoices, name="card_invoices"),
    path("api/billing/subscription/", apis.SubscriptionApi.as_view(), name="api_subscription"),
    path("api/billing/invoices/", apis.InvoiceListApi.as_view(), name="api_invoice_list"),
    path("api/billing/invoices/<str:number>/", apis.InvoiceDetailApi.as_view(), name="api_invoice_detail"),
    path("billing/webhooks/<str:provider_name>/", views.provider_webhook, name="provider_webhook"),
]
