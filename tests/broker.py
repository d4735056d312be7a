"""Reading what was published to the real Redis broker, for tests that check which tasks a
beat task enqueued (Celery not eager: the messages stay in their queue, nothing consumes them)."""

from __future__ import annotations

import base64
import json
from contextlib import contextmanager

from django_redis import get_redis_connection

from portal.celery import QUEUES, app


@contextmanager
def published():
    """Within the block tasks are published, not run; yields a function returning the
    ``(queue, task name, args)`` of every message waiting in the broker."""
    app.conf.task_always_eager = False
    redis = get_redis_connection("default")

    def messages() -> list[tuple[str, str, list]]:
        found = []
        for queue in QUEUES:
            for raw in redis.lrange(queue, 0, -1):
                message = json.loads(raw)
                body = json.loads(base64.b64decode(message["body"]))
                found.append((queue, message["headers"]["task"], body[0]))
        return found

    try:
        yield messages
    finally:
        app.conf.task_always_eager = True
