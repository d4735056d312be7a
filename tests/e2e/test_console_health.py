"""The operator's health page in real Chromium, with a lagging stream and a dead letter."""

from __future__ import annotations

import json

from django.conf import settings
from django.test import Client
from playwright.sync_api import expect

from accounts.models import User
from portal.task_runs import task_run_note
from usage.events import STREAM_FIELD, STREAM_KEY
from usage.ingest.stream import DEAD_LETTER_KEY, ensure_group


def test_operator_sees_pipeline_and_task_health(page, live_server, artifacts_dir, transactional_db, redis_client):
    operator = User.objects.create_user(email="operator@example.com", password=None, is_staff=True)
    client = Client()
    client.force_login(operator)
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": client.session.session_key, "url": live_server.url}]
    )
    ensure_group(redis_client)
    for n in range(12):
        redis_client.xadd(STREAM_KEY, {STREAM_FIELD: json.dumps([{"n": n}])})
    redis_client.xadd(DEAD_LETTER_KEY, {"entry_id": "1-1", "error": "boom", "payload": "[]"})
    task_run_note(task="usage.tasks.usage_ingest_drain", state="SUCCESS")
    task_run_note(task="usage.tasks.usage_stream_trim", state="FAILURE")
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)

    page.goto(f"{live_server.url}/console/health/")
    expect(page.locator("h1")).to_have_text("Health")
    lag = page.locator("article", has_text="Consumer lag")
    expect(lag.locator(".metric")).to_contain_text("12")
    expect(page.locator("article", has_text="Dead letters").locator(".metric")).to_have_text("1")
    drain = page.locator("tr", has_text="usage-ingest-drain")
    expect(drain.locator(".badge")).to_have_text("ok")
    expect(page.locator("tr", has_text="usage-stream-trim").locator(".badge")).to_have_text("failure")
    page.screenshot(path=str(artifacts_dir / "console-health.png"), full_page=True)
    assert errors == []
