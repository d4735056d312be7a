"""Request helpers shared by the gateway's views: the request id and the access line, reading and
validating a JSON body with a DRF serializer (problem+json on every failure)."""

from __future__ import annotations

import json
import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest

from gateway.responses import InvalidRequest, MalformedRequest, PayloadTooLarge, UnsupportedMediaType
from keys.cache import KeyRecord
from portal.logs import access_line, access_log, request_id_from

JSON = "application/json"


def request_id_of(request: HttpRequest) -> str:
    """The id the fast lane or ``RequestIdMiddleware`` gave the request (else the client's valid
    ``X-Request-Id``, else a new one)."""
    return getattr(request, "request_id", None) or request_id_from(request.META.get("HTTP_X_REQUEST_ID"))


def access_logged(
    request: HttpRequest, request_id: str, started: float, status: int, key: KeyRecord | None, operation_id: str = ""
) -> None:
    """The access line of a gateway call, written where the gateway knows the caller (one cached
    level check when access lines are off)."""
    if not access_log.isEnabledFor(logging.INFO):
        return
    request.access_logged = True  # type: ignore[attr-defined]  # RequestIdMiddleware writes none
    access_line(
        method=request.method or "GET",
        path=request.path,
        status=status,
        started=started,
        request_id=request_id,
        org_id=key.org_id if key is not None else None,
        key_prefix=key.prefix if key is not None else "",
        operation_id=operation_id,
    )


def validate(serializer_class, data) -> dict:
    if serializer_class is None:
        return {}
    serializer = serializer_class(data=data)
    if not serializer.is_valid():
        raise InvalidRequest("One or more fields are invalid; see `errors`.", errors=serializer.errors)
    return serializer.validated_data


def request_body(request: HttpRequest) -> bytes:
    """The raw body; a 413 problem when it is over ``DATA_UPLOAD_MAX_MEMORY_SIZE``."""
    try:
        return request.body
    except RequestDataTooBig:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raise PayloadTooLarge(f"The request body is larger than {limit:,} bytes.", max_bytes=limit) from None


def json_decode(raw: bytes, content_type: str) -> Any:
    if not raw:
        return {}
    if content_type and not content_type.startswith("application/json"):
        raise UnsupportedMediaType("Send the request body as application/json.")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise MalformedRequest("The request body is not valid JSON.") from None
    except RecursionError:
        raise MalformedRequest("The request body nests arrays or objects too deeply.") from None


def json_body(request: HttpRequest) -> Any:
    return json_decode(request_body(request), request.META.get("CONTENT_TYPE", ""))
