"""The Celery app. Tasks are discovered in each app's ``tasks.py``.

The beat schedule is ``CELERY_BEAT_SCHEDULE`` at the end of ``portal/settings.py``, in one
place (Celery's own beat: django-celery-beat does not support Django 6.1).
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
