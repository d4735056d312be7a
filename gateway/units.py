"""How many units a proxied call costs, by its operation's unit rule (``products.UnitRule``).

* ``fixed`` / ``free``: known from the route alone.
* ``request_json_array_length`` / ``request_form_field_count``: counted from the request body
  before admission (the body is read for it; other calls stream it).
* ``response_header`` / ``response_json_field``: reported by the upstream. A successful answer
  that does not report a count is charged the operation's ``max_units`` — what the gateway
  reserved for it — and logged, so an upstream bug is visible rather than free.

Errors are ``Problem``s with a clear detail: a request whose units cannot be counted is
answered 400 (after admission, like any invalid request).
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import parse_qsl

from gateway.responses import MalformedRequest, UnitsUncountable, UnsupportedMediaType
from products.pointers import pointer_resolve
from products.router import Route

log = logging.getLogger(__name__)

FIXED, FREE = "fixed", "free"
REQUEST_JSON_ARRAY_LENGTH, REQUEST_FORM_FIELD_COUNT = "request_json_array_length", "request_form_field_count"
RESPONSE_HEADER, RESPONSE_JSON_FIELD = "response_header", "response_json_field"
COUNTED_FROM_REQUEST = frozenset({REQUEST_JSON_ARRAY_LENGTH, REQUEST_FORM_FIELD_COUNT})
REPORTED = frozenset({RESPONSE_HEADER, RESPONSE_JSON_FIELD})
FORM = "application/x-www-form-urlencoded"


def units_known(route: Route) -> int | None:
    """Units from the route alone (fixed / free); None when the body or the answer decides."""
    if route.unit_rule == FIXED:
        return route.units_fixed
    if route.unit_rule == FREE:
        return 0
    return None


def units_from_request(route: Route, body: bytes, content_type: str) -> int:
    """Count the units of a request-counted operation; raises a Problem when they cannot be."""
    media = content_type.split(";", 1)[0].strip().lower()
    if route.unit_rule == REQUEST_FORM_FIELD_COUNT:
        if media != FORM:
            raise UnsupportedMediaType(f"Send this operation's body as {FORM}: its units are counted from it.")
        try:
            fields = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=10_000)
        except (UnicodeDecodeError, ValueError):
            raise MalformedRequest("The form body could not be read.") from None
        return sum(1 for name, _ in fields if name == route.unit_source)
    if media != "application/json" and not media.endswith("+json"):
        raise UnsupportedMediaType("Send this operation's body as application/json: its units are counted from it.")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise MalformedRequest("The request body is not valid JSON.") from None
    except RecursionError:
        raise MalformedRequest("The request body nests arrays or objects too deeply.") from None
    value = _at(data, route)
    if not isinstance(value, list):
        raise UnitsUncountable(
            f"This operation is charged per item of the array at `{route.unit_source or '/'}` in the body; send one.",
            pointer=route.unit_source,
        )
    return len(value)


def units_from_header(route: Route, value: str | None) -> int | None:
    """The count the upstream reported in a header; None when absent or not a whole number ≥ 0."""
    if value is None:
        return None
    value = value.strip()
    return int(value) if value.isdigit() and len(value) <= 12 else None


def units_from_json(route: Route, body: bytes) -> int | None:
    """The count the upstream reported in a JSON field; None when absent or not a whole number ≥ 0."""
    try:
        value = _at(json.loads(body), route)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0 or value != int(value):
        return None
    return int(value)


def units_unreported(route: Route, request_id: str) -> int:
    log.warning(
        "gateway: upstream of %s did not report units for %s (request %s); charging the reserved %d",
        route.product_slug,
        route.operation_id,
        request_id,
        route.max_units,
    )
    return route.max_units


def _at(data: Any, route: Route) -> Any:
    try:
        return pointer_resolve(data, route.unit_pointer)
    except (KeyError, TypeError):
        return None
