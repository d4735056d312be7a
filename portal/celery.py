"""The Celery app. Tasks are discovered in each app's ``tasks.py``.

The queues, the task routes and the beat schedule are static wiring (``portal/wiring.py``);
beat is celery-redbeat (``CELERY_BEAT_SCHEDULER`` in ``portal/settings.py``), so any number of
beat processes may be started and exactly one of them sends the schedule. ``QUEUES`` is the one
list of queues a deployment's workers must consume between them.
"""

from __future__ import annotations

import os

from celery import Celery

from portal.wiring import CELERY_QUEUES

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

QUEUES: tuple[str, ...] = CELERY_QUEUES

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
