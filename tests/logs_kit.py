"""Logs as production writes them (portal/logs.py's configuration), captured for assertions."""

from __future__ import annotations

import io
import json
import logging.config
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings

from portal import wiring
from portal.logs import logging_config


class CapturedLogs:
    def __init__(self, buffer: io.StringIO):
        self.buffer = buffer

    @property
    def text(self) -> str:
        return self.buffer.getvalue()

    def records(self) -> list[dict]:
        """Every line, parsed (a line that is not one JSON object fails the test)."""
        return [json.loads(line) for line in self.text.splitlines() if line]

    def access(self) -> list[dict]:
        return [record for record in self.records() if record["logger"] == "tollgate.access"]


@contextmanager
def captured_logs(*, log_format: str = "json", access_log_on: bool = True) -> Iterator[CapturedLogs]:
    buffer = io.StringIO()
    config = logging_config(wiring.LOGGING, log_format=log_format, level="INFO", access_log_on=access_log_on)
    config["handlers"]["console"]["stream"] = buffer
    logging.config.dictConfig(config)
    try:
        yield CapturedLogs(buffer)
    finally:
        logging.config.dictConfig(settings.LOGGING)
