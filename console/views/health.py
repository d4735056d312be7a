"""The operator's health page: the usage pipeline, scheduled tasks, webhooks and providers, read
by ``console.health`` — the same readings ``/metrics`` exports as gauges."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.shortcuts import render

from console.health import health_read
from portal.task_runs import TaskRun

LATE_AFTER_PERIODS = 3  # a scheduled task is late once this many of its periods passed without a run


@dataclass(frozen=True)
class ScheduledTask:
    entry: str
    task: str
    every_seconds: float
    last: TaskRun | None
    age_seconds: float | None

    @property
    def finished_at(self) -> datetime | None:
        return None if self.last is None else datetime.fromtimestamp(self.last.finished_at, tz=UTC)

    @property
    def late(self) -> bool:
        return self.age_seconds is None or self.age_seconds > LATE_AFTER_PERIODS * self.every_seconds

    @property
    def failed(self) -> bool:
        return self.last is not None and self.last.state != "SUCCESS"


def scheduled_tasks(runs: dict[str, TaskRun], *, now: datetime) -> list[ScheduledTask]:
    """Every entry of the beat schedule with its task's last run."""
    rows = []
    for entry, spec in settings.CELERY_BEAT_SCHEDULE.items():
        last = runs.get(spec["task"])
        age = None if last is None else max(now.timestamp() - last.finished_at, 0.0)
        rows.append(ScheduledTask(entry, spec["task"], float(spec["schedule"]), last, age))
    return rows


@staff_member_required
def health_page(request):
    health = health_read()
    tasks = health["tasks"]
    context = {
        "health": health,
        "down": [reading for reading in health.readings.values() if not reading.ok],
        "scheduled": scheduled_tasks(tasks.values, now=health.read_at) if tasks.ok else [],
    }
    return render(request, "console/health.html", context)
