"""Request helpers shared by the gateway's views: the request id, reading and validating a
JSON body with a DRF serializer (problem+json on every failure)."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest

from gateway.responses import InvalidRequest, MalformedRequest, PayloadTooLarge, UnsupportedMediaType

JSON = "application/json"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def request_id_of(request: HttpRequest) -> str:
    given = request.META.get("HTTP_X_REQUEST_ID", "")
    return given if given and _REQUEST_ID.match(given) else uuid.uuid4().hex


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
