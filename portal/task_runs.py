"""When each Celery task last finished, for the operator: one Redis hash, written by the worker.

``task_postrun`` (every task, in the worker process that ran it) sets ``tg:tasks:last_run``
field ``<task name>`` to ``<epoch seconds> <state>`` (``SUCCESS``, ``FAILURE``, ``RETRY`` …).
One HSET per task run, no expiry: the field set is bounded by the registered task names. The
console's health page and ``/metrics`` read it (``console.health``). A failure to write is
logged and ignored: bookkeeping must never fail a task.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from celery.signals import task_postrun

from portal.redis import redis_client

log = logging.getLogger(__name__)
LAST_RUN_KEY = "tg:tasks:last_run"


@dataclass(frozen=True, slots=True)
class TaskRun:
    task: str
    finished_at: float  # epoch seconds
    state: str


def task_run_note(*, task: str, state: str, at: float | None = None) -> None:
    redis_client().hset(LAST_RUN_KEY, task, f"{time.time() if at is None else at:.3f} {state}")


def task_runs(redis) -> dict[str, TaskRun]:
    """The last run of every task that has run, by task name."""
    runs = {}
    for name, value in redis.hgetall(LAST_RUN_KEY).items():
        task = name.decode() if isinstance(name, bytes) else name
        stamp, _, state = (value.decode() if isinstance(value, bytes) else value).partition(" ")
        try:
            runs[task] = TaskRun(task, float(stamp), state)
        except ValueError:
            continue
    return runs


@task_postrun.connect(dispatch_uid="portal.task_runs")
def _task_finished(sender=None, state=None, **_) -> None:
    try:
        task_run_note(task=getattr(sender, "name", str(sender)), state=str(state or ""))
    except Exception:
        log.warning("could not record the run of task %s", getattr(sender, "name", sender), exc_info=True)
