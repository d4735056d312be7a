from __future__ import annotations

from django.apps import AppConfig

from portal.observability import django_instrument


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Portal"

    def ready(self) -> None:
        django_instrument()  # tracing on: Django's requests get spans (edits MIDDLEWARE, so here)
        from portal import task_runs  # noqa: F401, PLC0415 - connects the Celery task_postrun receiver once apps are ready
