"""Settings for the beat processes of tests/portal/test_beat.py: the project's settings with a
schedule of one probe entry every second (beat only publishes it; nothing needs to run it)."""

from __future__ import annotations

from portal.settings import *  # noqa: F403

CELERY_BEAT_SCHEDULE = {"beat-probe": {"task": "tests.beat_probe", "schedule": 1.0}}
