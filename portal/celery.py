"""The Celery app. Tasks are discovered in each app's ``tasks.py``.

The beat schedule lives here, in one place, so the whole periodic workload is readable at a
glance (Celery's own beat: django-celery-beat does not support Django 6.1).
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Apps register their periodic tasks below (name -> {"task": ..., "schedule": ...}).
app.conf.beat_schedule = {}
