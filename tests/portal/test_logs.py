"""Logs: JSON lines that parse and carry the request id, human-readable text, secrets scrubbed from
every line, and the request id carried into Celery tasks (eager and in a real worker)."""

from __future__ import annotations

import json
import logging
import re
import time

import pytest

from portal.celery import app as celery_app
from portal.logs import REDACTED, redact, request_id_var
from tests.logs_kit import captured_logs
from usage.tasks import usage_stream_trim

KEY = "tg_live_AbCd1234" + "s3cr3t" * 4
TOKEN = "tgp_WxYz9876" + "t0k3n" * 5


@pytest.mark.parametrize(
    "text, gone, kept",
    [
        (f"key {KEY} refused", KEY[16:], "tg_live_AbCd1234"),
        (f"Authorization: Bearer {TOKEN}", "Bearer", "Authorization: "),
        ("X-Api-Key: abc123secret", "abc123secret", "X-Api-Key"),
        ("Cookie: sessionid=abcdef; csrftoken=xyz", "abcdef", "Cookie"),
        ("GET /x?token=abc123&page=2", "abc123", "page=2"),
        ('{"password": "hunter2hunter2", "email": "a@b.c"}', "hunter2", "a@b.c"),
        ("client_secret=shh-1234 next", "shh-1234", "next"),
    ],
)
def test_redact_removes_each_kind_of_secret_and_keeps_the_rest(text, gone, kept):
    cleaned = redact(text)
    assert gone not in cleaned and kept in cleaned and REDACTED in cleaned


def test_the_filter_scrubs_arguments_tracebacks_and_extra_fields():
    log = logging.getLogger("tests.redaction")
    with captured_logs() as logs:
        log.warning("calling with %s", KEY, extra={"api_key": "anything", "note": f"got {TOKEN}"})
        try:
            raise ValueError(f"bad key {KEY}")
        except ValueError:
            log.exception("failed")
    warning, error = logs.records()
    assert warning["message"] == f"calling with tg_live_AbCd1234{REDACTED}"
    assert warning["api_key"] == REDACTED and warning["note"] == f"got tgp_WxYz9876{REDACTED}"
    assert "ValueError: bad key tg_live_AbCd1234" in error["exc_info"]
    assert KEY not in logs.text and TOKEN not in logs.text


def test_a_portal_page_writes_a_json_access_line_with_user_org_and_request_id(member_client, user, org):
    with captured_logs() as logs:
        response = member_client.get("/dashboard/?secret=1", HTTP_X_REQUEST_ID="page-req-7")
    assert response.status_code == 200
    assert response["X-Request-Id"] == "page-req-7"
    [line] = logs.access()
    assert (line["method"], line["path"], line["status"]) == ("GET", "/dashboard/", 200)
    assert (line["request_id"], line["user_id"], line["org_id"]) == ("page-req-7", user.pk, org.pk)
    assert line["key_prefix"] is None and line["operation_id"] is None
    assert "secret=1" not in logs.text


def test_every_response_carries_a_request_id_and_every_line_of_the_request_has_it(member_client):
    with captured_logs() as logs:
        response = member_client.get("/api/keys/")
        logging.getLogger("tests.after").info("outside any request")
    request_id = response["X-Request-Id"]
    assert response.status_code == 200 and re.fullmatch(r"[0-9a-f]{32}", request_id)
    by_logger = {record["logger"]: record for record in logs.records()}
    assert by_logger["tollgate.access"]["request_id"] == request_id
    assert by_logger["tests.after"]["request_id"] == "-"


def test_text_format_stays_human_readable(client):
    with captured_logs(log_format="text") as logs:
        client.get("/healthz", HTTP_X_REQUEST_ID="txt-1")
    [line] = [line for line in logs.text.splitlines() if "tollgate.access" in line]
    assert re.fullmatch(r"\S+ \S+ INFO tollgate.access \[txt-1\] GET /healthz 200 \d+\.\dms", line), line
    assert not line.startswith("{")


@pytest.mark.django_db
def test_an_eager_task_started_during_a_request_logs_with_its_request_id():
    token = request_id_var.set("req-task-1")
    try:
        with captured_logs() as logs:
            usage_stream_trim.delay()
    finally:
        request_id_var.reset(token)
    [line] = [record for record in logs.records() if record["logger"] == "tollgate.task"]
    assert line["task"] == "usage.tasks.usage_stream_trim" and line["outcome"] == "SUCCESS"
    assert line["request_id"] == "req-task-1" and line["runtime_ms"] >= 0 and line["task_id"]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_task_published_during_a_request_carries_its_id_into_a_real_worker():
    from tests.faults._celery import CeleryWorker

    worker = CeleryWorker("logs", concurrency=1, env={"LOG_FORMAT": "json"})
    try:
        worker.wait_ready(60)
        celery_app.conf.task_always_eager = False
        token = request_id_var.set("req-worker-1")
        try:
            result = usage_stream_trim.apply_async()
        finally:
            request_id_var.reset(token)
        task_lines = _wait_for_task_line(worker, result.id, 30)
    finally:
        worker.stop()
    assert task_lines["request_id"] == "req-worker-1"
    assert (task_lines["task"], task_lines["outcome"]) == ("usage.tasks.usage_stream_trim", "SUCCESS")


def _wait_for_task_line(worker, task_id: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in list(worker.lines):
            if line.startswith("{") and task_id in line:
                record = json.loads(line)
                if record["logger"] == "tollgate.task":
                    return record
        time.sleep(0.2)
    raise AssertionError("no task line:\n" + "".join(worker.lines[-40:]))
