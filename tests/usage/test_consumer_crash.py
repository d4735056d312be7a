"""Kill a real consumer process mid-batch, restart it: every event present exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from tests.usage.conftest import event_count, make_event, produce
from usage.events import STREAM_KEY
from usage.ingest.stream import GROUP

ROOT = Path(__file__).resolve().parents[2]


def _consumer(*args: str, pause: str | None = None) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "TESTING": "1",
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("USAGE_INGEST_TEST_PAUSE_BEFORE_COMMIT", None)
    env.pop("USAGE_INGEST_TEST_PAUSE_BEFORE_ACK", None)
    if pause:
        env[pause] = "60"
    return subprocess.Popen(
        [sys.executable, "manage.py", "usage_consumer", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _test_database_url() -> str:
    s = connection.settings_dict
    return f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def _wait_for(proc: subprocess.Popen, text: str, timeout: float = 60) -> str:
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            break
        seen.append(line)
        if text in line:
            return "".join(seen)
    proc.kill()
    raise AssertionError(f"consumer never printed {text!r}:\n{''.join(seen)}")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("pause", ["USAGE_INGEST_TEST_PAUSE_BEFORE_COMMIT", "USAGE_INGEST_TEST_PAUSE_BEFORE_ACK"])
def test_sigkill_mid_batch_then_restart_keeps_every_event_exactly_once(redis_client, org, pause):
    events = [make_event(org.pk, request_id=f"r{i}") for i in range(400)]
    produce(redis_client, events, per_entry=20)

    victim = _consumer("--name", "victim", "--batch", "5", pause=pause)
    _wait_for(victim, f"paused at {pause}")
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)
    # The batch it held is pending, unacknowledged.
    assert redis_client.xpending(STREAM_KEY, GROUP)["pending"] == 5
    written_before_restart = event_count(org.pk)
    assert written_before_restart == (100 if pause.endswith("ACK") else 0)

    survivor = _consumer("--name", "survivor", "--once", "--claim-idle-ms", "0")
    out, _ = survivor.communicate(timeout=120)
    assert survivor.returncode == 0, out

    assert event_count(org.pk) == 400
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(DISTINCT id) FROM usage_event WHERE org_id = %s", [org.pk])
        assert cursor.fetchone()[0] == 400
    assert redis_client.xpending(STREAM_KEY, GROUP)["pending"] == 0
