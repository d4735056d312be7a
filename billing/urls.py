from django.urls import path

from billing import sandbox_views, views

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
    path("billing/endpoints/", views.webhook_list, name="webhook_list"),
    path("billing/endpoints/<int:endpoint_id>/", views.webhook_detail, name="webhook_detail"),
    path("billing/endpoints/<int:endpoint_id>/test/", views.webhook_test, name="webhook_test"),
    path("billing/endpoints/<int:endpoint_id>/delete/", views.webhook_delete, name="webhook_delete"),
    path("billing/endpoints/<int:endpoint_id>/deliveries/<int:delivery_id>/resend/", views.webhook_resend,
         name="webhook_resend"),
    path("billing/webhooks/<str:provider_name>/", views.provider_webhook, name="provider_webhook"),
    # The local provider test double's hosted pages (404 when real keys are configured).
    path("sandbox/checkout/<str:provider_name>/<str:reference>/", sandbox_views.checkout_page, name="sandbox_checkout"),
    path("sandbox/checkout/<str:provider_name>/<str:reference>/authenticate/", sandbox_views.authenticate_page,
         name="sandbox_authenticate"),
    path("sandbox/portal/<str:provider_name>/<str:object_id>/", sandbox_views.portal_page, name="sandbox_portal"),
]
