"""The Celery wiring: every task of our apps is routed to one of the deployment's queues, has a
soft and a hard time limit, and the broker's visibility timeout outlasts every task and retry."""

from __future__ import annotations

from django.conf import settings

from portal.celery import QUEUES, app
from portal.wiring import INSTALLED_APPS

OUR_APPS = tuple(f"{name}." for name in INSTALLED_APPS if "." not in name and not name.startswith("django"))


def _our_tasks():
    app.loader.import_default_modules()
    tasks = {name: task for name, task in app.tasks.items() if name.startswith(OUR_APPS)}
    assert len(tasks) > 20  # autodiscovery found the apps' tasks.py
    return tasks


def test_every_task_routes_to_a_named_queue():
    for name in _our_tasks():
        route = app.amqp.router.route({}, name)
        assert route["queue"].name in QUEUES, name
    # Routed by latency class, as docs/deploy.md describes.
    assert app.amqp.router.route({}, "usage.tasks.usage_ingest_drain")["queue"].name == "usage"
    assert app.amqp.router.route({}, "billing.tasks.webhook_delivery_attempt")["queue"].name == "webhooks"
    assert app.amqp.router.route({}, "billing.tasks.invoice_close_period_task")["queue"].name == "billing"


def test_the_deploy_guide_names_every_queue():
    guide = (settings.BASE_DIR / "docs" / "deploy.md").read_text()
    for queue in QUEUES:
        assert f"| `{queue}`" in guide


def test_every_task_has_a_soft_and_a_hard_time_limit():
    for name, task in _our_tasks().items():
        assert task.soft_time_limit and task.time_limit, name
        assert task.soft_time_limit < task.time_limit, name


def _longest_retry_wait(task) -> float:
    """The longest countdown of a task's automatic retries (none of our tasks retries by hand)."""
    if not getattr(task, "autoretry_for", ()):
        return 0
    backoff = getattr(task, "retry_backoff", False)
    if backoff:  # backoff * 2**n for retry n, capped by retry_backoff_max
        return min(int(backoff) * 2 ** (task.max_retries - 1), getattr(task, "retry_backoff_max", 600))
    return task.default_retry_delay


def test_the_visibility_timeout_outlasts_every_task_and_retry():
    timeout = app.conf.broker_transport_options["visibility_timeout"]
    assert timeout == settings.CELERY_VISIBILITY_TIMEOUT
    for name, task in _our_tasks().items():
        assert task.time_limit < timeout, name
        assert _longest_retry_wait(task) < timeout, name
    assert _longest_retry_wait(app.tasks["sandbox.tasks.sandbox_webhook_deliver"]) == 32
