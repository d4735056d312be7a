"""The gateway's access lines (LOG_FORMAT=json): one per call, with the request id, organization,
key prefix and operation, and never the key."""

from __future__ import annotations

import pytest

from tests.gateway.conftest import TRACKING
from tests.logs_kit import captured_logs

pytestmark = pytest.mark.usefixtures("roomy")
PATH = f"/v1/demo/deliveries/{TRACKING}"


def test_a_gateway_call_writes_one_json_access_line_with_its_request_id_and_no_key(api, org, live_key):
    key, raw = live_key
    with captured_logs() as logs:
        response = api.get(f"{PATH}?api_key={raw}", raw, HTTP_X_REQUEST_ID="req-log-1")
    assert response.status_code == 200
    assert response["X-Request-Id"] == "req-log-1"
    [line] = logs.access()
    assert line["request_id"] == "req-log-1"
    assert (line["method"], line["path"], line["status"]) == ("GET", PATH, 200)
    assert line["org_id"] == org.pk and line["key_prefix"] == key.prefix
    assert line["operation_id"] and line["latency_ms"] > 0
    assert line["level"] == "INFO" and line["time"]
    assert raw not in logs.text and raw[len(key.prefix) :] not in logs.text
    assert "api_key" not in logs.text  # the query string is never logged


def test_a_refused_call_is_logged_with_its_status_and_without_the_made_up_key(api):
    made_up = "tg_live_" + "x" * 32
    with captured_logs() as logs:
        response = api.get(PATH, made_up, HTTP_X_REQUEST_ID="req-log-2")
    assert response.status_code == 401
    [line] = logs.access()
    assert (line["request_id"], line["status"], line["key_prefix"]) == ("req-log-2", 401, None)
    assert made_up not in logs.text


def test_an_invalid_request_id_is_replaced_by_a_generated_one(api, live_key):
    _, raw = live_key
    with captured_logs() as logs:
        response = api.get(PATH, raw, HTTP_X_REQUEST_ID="bad id\nwith a newline")
    generated = response["X-Request-Id"]
    assert len(generated) == 32 and generated.isalnum()
    assert [line["request_id"] for line in logs.access()] == [generated]


def test_with_access_lines_off_a_call_logs_nothing(api, live_key):
    _, raw = live_key
    with captured_logs(access_log_on=False) as logs:
        assert api.get(PATH, raw).status_code == 200
    assert logs.access() == []
