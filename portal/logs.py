"""Logs: one line per record on stderr, human-readable (``LOG_FORMAT=text``) or one JSON object
per line (``LOG_FORMAT=json``), every line with the request id and never a secret.

* The request id of the current request or task lives in ``request_id_var``. It is set by
  ``RequestIdMiddleware`` (portal pages, ``/api/…``), by the gateway's ASGI fast lane (``/v1/…``
  product calls) and, in a Celery worker, from the header the publishing request put on the task
  (``portal/celery.py`` connects the receivers below).
* ``RequestIdFilter`` copies it onto every record; ``RedactFilter`` scrubs secrets from the message,
  the traceback and extra fields. Both sit on the console handler, so they see the records of
  every logger, ours and libraries'.
* Access lines: ``tollgate.access`` (one per request) and ``tollgate.task`` (one per task), on when
  ``ACCESS_LOG`` is. Callers check ``isEnabledFor`` first, so a disabled access log costs one
  cached level check.
"""

from __future__ import annotations

import logging
import re
import time
import traceback
import uuid
from contextvars import ContextVar
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse

REQUEST_ID_HEADER = "X-Request-Id"
request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
access_log = logging.getLogger("tollgate.access")
task_log = logging.getLogger("tollgate.task")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def request_id_from(given: str | None) -> str:
    """The client's ``X-Request-Id`` when it is a plain token of at most 128 characters, else a
    new one (a header is never trusted into a log line as it is)."""
    return given if given and _REQUEST_ID.match(given) else uuid.uuid4().hex


# --- Redaction -------------------------------------------------------------------------------
REDACTED = "[redacted]"
# API keys and personal access tokens: the visible prefix stays (the part the console shows,
# useless to an attacker), the secret after it goes.
_KEY = re.compile(r"((?:tg_live_|tg_test_|tgp_)[A-Za-z0-9_-]{8})[A-Za-z0-9_-]+")
# Credentials written as headers (``Authorization: Bearer …``) or as name=value / "name": "value"
# pairs (query strings, form bodies, JSON, reprs).
_HEADER = re.compile(r"(?i)\b((?:proxy-)?authorization|x-api-key|(?:set-)?cookie)(\W{0,3}?[:=]\s*[\"']?)[^\"'\r\n]+")
_PAIR = re.compile(
    r"(?i)([\w-]*(?:password|passwd|secret|token|api[_-]?key|sessionid|csrftoken)[\"']?\s*[:=]\s*[\"']?)[^\s\"'&,;}]+"
)
_SENSITIVE_NAME = re.compile(r"(?i)password|passwd|secret|token|authorization|cookie|api[_-]?key|sessionid")


def redact(text: str) -> str:
    """``text`` without the secrets it may carry."""
    if not text:
        return text
    text = _KEY.sub(r"\1" + REDACTED, text)
    text = _HEADER.sub(r"\1\2" + REDACTED, text)
    return _PAIR.sub(r"\1" + REDACTED, text)


_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime", "request_id"}


class RedactFilter(logging.Filter):
    """Scrubs the message (with its arguments), the traceback and extra fields of every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        if record.exc_info:  # formatted here, so that the formatters print the scrubbed text
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
            record.exc_info = None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        for name in record.__dict__.keys() - _STANDARD:
            value = record.__dict__[name]
            if _SENSITIVE_NAME.search(name) and value:
                record.__dict__[name] = REDACTED
            elif isinstance(value, str):
                record.__dict__[name] = redact(value)
        return True


class RequestIdFilter(logging.Filter):
    """Puts the current request id (or "-") on every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get() or "-"
        return True


def logging_config(base: dict[str, Any], *, log_format: str, level: str, access_log_on: bool) -> dict[str, Any]:
    """Django's ``LOGGING`` from the static part in ``portal/wiring.py`` and the settings."""
    if log_format not in ("text", "json"):
        raise ImproperlyConfigured(f"LOG_FORMAT must be 'text' or 'json', not {log_format!r}.")
    access_level = "INFO" if access_log_on else "WARNING"
    loggers = {
        **base["loggers"],
        "tollgate.access": {"level": access_level},
        "tollgate.task": {"level": access_level},
    }
    if access_log_on:
        # Our per-task line replaces Celery's "received" and "succeeded" lines (failures it
        # still logs, with the traceback, at ERROR).
        loggers |= {"celery.app.trace": {"level": "WARNING"}, "celery.worker.strategy": {"level": "WARNING"}}
    handler = {**base["handlers"]["console"], "formatter": log_format, "filters": ["request_id", "redact"]}
    return {
        **base,
        "filters": {"request_id": {"()": RequestIdFilter}, "redact": {"()": RedactFilter}},
        "handlers": {**base["handlers"], "console": handler},
        "loggers": loggers,
        "root": {"handlers": ["console"], "level": level},
    }


# --- Access lines ----------------------------------------------------------------------------
def access_line(
    *,
    method: str,
    path: str,
    status: int,
    started: float,
    request_id: str,
    org_id: int | None = None,
    key_prefix: str = "",
    operation_id: str = "",
    user_id: int | None = None,
) -> None:
    """One line for one request (callers check ``access_log.isEnabledFor(logging.INFO)``). The
    path never has its query string: it may carry secrets."""
    latency_ms = round((time.perf_counter() - started) * 1000, 2)
    access_log.info(
        "%s %s %s %.1fms",
        method,
        path,
        status,
        latency_ms,
        extra={
            "request_id": request_id,
            "method": method,
            "path": path,
            "status": status,
            "latency_ms": latency_ms,
            "org_id": org_id,
            "key_prefix": key_prefix or None,
            "operation_id": operation_id or None,
            "user_id": user_id,
        },
    )


def _user_id(request: HttpRequest) -> int | None:
    """The signed-in user's id, without loading a user nobody asked for."""
    user = request.__dict__.get("user")
    user = getattr(user, "_wrapped", user)  # Django's lazy user: evaluated only if a view did
    return getattr(user, "pk", None) if getattr(user, "is_authenticated", False) else None


class RequestIdMiddleware:
    """Outermost: gives every request its id (``request.request_id``, the log context, the
    ``X-Request-Id`` response header) and writes its access line."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        request_id = request_id_from(request.META.get("HTTP_X_REQUEST_ID"))
        request.request_id = request_id  # type: ignore[attr-defined]
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
            if REQUEST_ID_HEADER not in response:
                response[REQUEST_ID_HEADER] = request_id
            if access_log.isEnabledFor(logging.INFO) and not getattr(request, "access_logged", False):
                org = getattr(request, "org", None)
                access_line(
                    method=request.method or "GET",
                    path=request.path,
                    status=response.status_code,
                    started=started,
                    request_id=request_id,
                    org_id=getattr(org, "pk", None),
                    user_id=_user_id(request),
                )
            return response
        finally:
            request_id_var.reset(token)


# --- Celery: the request id travels in the task's headers -----------------------------------
TASK_HEADER = "tollgate_request_id"


def task_publish_add_request_id(headers: dict | None = None, **kwargs: Any) -> None:
    """``before_task_publish``: a task enqueued while serving a request carries its id."""
    request_id = request_id_var.get()
    if request_id and headers is not None:
        headers.setdefault(TASK_HEADER, request_id)


def task_started(task_id: str | None = None, task: Any = None, **kwargs: Any) -> None:
    """``task_prerun``: the worker's log lines for this task carry the publishing request's id.
    An eager task (run in the publishing process) keeps the caller's context as it is."""
    request = getattr(task, "request", None)
    request_id = getattr(request, TASK_HEADER, None) or (getattr(request, "headers", None) or {}).get(TASK_HEADER)
    token = request_id_var.set(request_id) if request_id else None
    if request is not None:
        request.tollgate_log = (time.perf_counter(), token)


def task_finished(task_id: str | None = None, task: Any = None, state: str | None = None, **kwargs: Any) -> None:
    """``task_postrun``: the task's line (name, id, request id, outcome, runtime)."""
    request = getattr(task, "request", None)
    started, token = getattr(request, "tollgate_log", None) or (time.perf_counter(), None)
    if task_log.isEnabledFor(logging.INFO):
        runtime_ms = round((time.perf_counter() - started) * 1000, 2)
        task_log.info(
            "task %s %s %s %.1fms",
            getattr(task, "name", "?"),
            task_id,
            state,
            runtime_ms,
            extra={
                "task": getattr(task, "name", None),
                "task_id": task_id,
                "outcome": state,
                "runtime_ms": runtime_ms,
                "request_id": request_id_var.get(),
            },
        )
    if token is not None:
        request_id_var.reset(token)
