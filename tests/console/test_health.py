"""The operator's health page: staff only, and the same numbers as /metrics."""

from __future__ import annotations

import json

from django.urls import reverse

from console.health import health_read
from console.views.health import scheduled_tasks
from portal.task_runs import task_run_note, task_runs
from tests.factories import UserFactory
from tests.metrics_scrape import TOKEN, scrape, value
from usage.events import STREAM_FIELD, STREAM_KEY
from usage.ingest.stream import DEAD_LETTER_KEY, ensure_group


def test_health_page_is_staff_only(member_client, client, db):
    assert member_client.get(reverse("console:health")).status_code == 302  # to the admin login
    client.force_login(UserFactory(is_staff=True))
    assert client.get(reverse("console:health")).status_code == 200


def test_health_page_shows_the_numbers_metrics_reports(client, settings, db, redis_client):
    settings.METRICS_TOKEN = TOKEN
    ensure_group(redis_client)
    for n in range(7):
        redis_client.xadd(STREAM_KEY, {STREAM_FIELD: json.dumps([{"n": n}])})
    for n in range(2):
        redis_client.xadd(DEAD_LETTER_KEY, {"entry_id": f"1-{n}", "error": "boom", "payload": "[]"})
    samples = scrape(client)
    client.force_login(UserFactory(is_staff=True))
    page = client.get(reverse("console:health"))
    usage = page.context["health"]["usage"].values
    assert (usage["lag"], usage["dead_letters"]) == (7, 2)
    assert value(samples, "tollgate_usage_consumer_lag") == usage["lag"]
    assert value(samples, "tollgate_usage_dead_letters") == usage["dead_letters"]
    assert "replay or discard" in page.content.decode()


def test_celery_tasks_record_their_last_run(db, redis_client):
    from usage.tasks import usage_stream_trim

    usage_stream_trim.delay()  # eager under tests: task_postrun fires in this process
    runs = task_runs(redis_client)
    assert runs["usage.tasks.usage_stream_trim"].state == "SUCCESS"


def test_a_scheduled_task_without_a_recent_run_is_late(db, redis_client, settings):
    settings.CELERY_BEAT_SCHEDULE = {"drain": {"task": "usage.tasks.usage_ingest_drain", "schedule": 2.0}}
    health = health_read()
    assert scheduled_tasks({}, now=health.read_at)[0].late  # never ran
    task_run_note(task="usage.tasks.usage_ingest_drain", state="SUCCESS", at=health.read_at.timestamp() - 1)
    fresh = scheduled_tasks(task_runs(redis_client), now=health.read_at)[0]
    assert not fresh.late and not fresh.failed
    task_run_note(task="usage.tasks.usage_ingest_drain", state="SUCCESS", at=health.read_at.timestamp() - 60)
    assert scheduled_tasks(task_runs(redis_client), now=health.read_at)[0].late
