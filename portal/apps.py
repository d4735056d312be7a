from __future__ import annotations

from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Portal"

    def ready(self) -> None:
        from portal import task_runs  # noqa: F401, PLC0415 - connects the Celery task_postrun receiver once apps are ready
