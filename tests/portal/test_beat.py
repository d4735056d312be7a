"""Two real ``celery -A portal beat`` processes against the test Redis: exactly one of them sends
the schedule (celery-redbeat's lock), so every scheduled run is published once, and when that
one stops the other takes over."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
PROBE = "tests.beat_probe"
SENT = f"Sending due task beat-probe ({PROBE})"

pytestmark = pytest.mark.slow


class Beat:
    """``celery -A portal beat`` with the one-second probe schedule; its log is collected."""

    def __init__(self) -> None:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.portal.beat_settings",
            "REDIS_URL": settings.REDIS_URL,
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "CELERY_RESULT_BACKEND": settings.CELERY_RESULT_BACKEND,
            "PYTHONUNBUFFERED": "1",
        }
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "portal", "beat", "--loglevel=INFO"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        threading.Thread(target=self._collect, daemon=True).start()

    def _collect(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    @property
    def sent(self) -> int:
        return sum(SENT in line for line in list(self.lines))

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)


def _published(redis_client) -> int:
    """Probe messages waiting in the default queue (beat publishes; no worker consumes them)."""
    messages = redis_client.lrange(settings.CELERY_TASK_DEFAULT_QUEUE, 0, -1)
    return sum(json.loads(raw)["headers"]["task"] == PROBE for raw in messages)


def _wait_for(condition, timeout: float, beats: list[Beat]) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            logs = "\n---\n".join("".join(beat.lines[-30:]) for beat in beats)
            raise AssertionError(f"condition not met within {timeout:.0f} s:\n{logs}")
        time.sleep(0.2)


def test_two_beats_publish_each_scheduled_run_once_and_the_standby_takes_over(redis_client):
    beats = [Beat(), Beat()]
    try:
        _wait_for(lambda: any(beat.sent for beat in beats), 30, beats)
        first_send = time.monotonic()
        time.sleep(10)
        window = time.monotonic() - first_send

        leader, standby = sorted(beats, key=lambda beat: beat.sent, reverse=True)
        assert standby.sent == 0, "both beats sent the schedule"
        assert all(beat.proc.poll() is None for beat in beats), "a beat process exited"
        # One run a second since the first: never two publications of one run.
        published = _published(redis_client)
        assert published == leader.sent
        assert 8 <= published <= window + 2

        # The leader stops (releasing its lock): the standby acquires it and carries on.
        leader.stop()
        _wait_for(lambda: standby.sent >= 2, 20, beats)
        assert _published(redis_client) == leader.sent + standby.sent
    finally:
        for beat in beats:
            beat.stop()
