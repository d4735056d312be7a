"""The Celery app. Tasks are discovered in each app's ``tasks.py``.

The queues, the task routes and the beat schedule are static wiring (``portal/wiring.py``);
beat is celery-redbeat (``CELERY_BEAT_SCHEDULER`` in ``portal/settings.py``), so any number of
beat processes may be started and exactly one of them sends the schedule. ``QUEUES`` is the one
list of queues a deployment's workers must consume between them.

Logging is Django's ``LOGGING`` in workers too (Celery would otherwise install its own handlers
and formats), and a task enqueued while serving a request carries the request id into the
worker's log lines (``portal/logs.py``).
"""

from __future__ import annotations

import logging.config
import os

from celery import Celery, signals
from django.conf import settings

from portal.logs import task_finished, task_publish_add_request_id, task_started
from portal.wiring import CELERY_QUEUES

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

QUEUES: tuple[str, ...] = CELERY_QUEUES

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.setup_logging.connect
def _django_logging(**kwargs) -> None:
    logging.config.dictConfig(settings.LOGGING)


signals.before_task_publish.connect(task_publish_add_request_id, dispatch_uid="portal.logs.publish")
signals.task_prerun.connect(task_started, dispatch_uid="portal.logs.prerun")
signals.task_postrun.connect(task_finished, dispatch_uid="portal.logs.postrun")
