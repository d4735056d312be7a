"""The process's catalogue for the hot path: every enabled operation of every active product,
compiled into a ``products.router.Router`` and refreshed when an operator changes something.

Protocol:

1. ``catalogue()`` returns the current snapshot. At most once per ``CHECK_INTERVAL_S``
   (monotonic clock) it reads the version number at ``VERSION_KEY`` from Redis — one GET per
   process per second, not per request; a warm lookup runs no SQL and no Redis command.
2. When the version differs from the snapshot's, the process rebuilds the snapshot from
   PostgreSQL (four queries whatever the size) and swaps it in; requests already holding the
   old one finish with it. The version is read *before* the rows, so a change that commits
   during the rebuild is caught by the next check.
3. Every service that changes products, operations or documents calls ``catalogue_changed()``,
   which INCRs the version after commit: every worker sees the change within
   ``CHECK_INTERVAL_S`` + one rebuild (< 2 s); the changing process re-checks on its next call.

Redis down: the process keeps serving its snapshot and retries on the next check. A cold
process without Redis builds from PostgreSQL and re-checks every interval until Redis answers.

Key: ``tg:catalogue:version`` — a counter, no expiry (deployment-wide, not per organization).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import TypedDict

from asgiref.sync import sync_to_async
from django.db import transaction
from redis.exceptions import RedisError

from portal.redis import redis_client
from products.models import ApiProduct, Operation, Visibility
from products.pointers import pointer_parse
from products.router import Route, Router

log = logging.getLogger(__name__)

VERSION_KEY = "tg:catalogue:version"
CHECK_INTERVAL_S = 1.0


@dataclass(frozen=True, slots=True)
class Catalogue:
    """One immutable snapshot: the router and the version it was built at."""

    version: int | None
    router: Router

    def match(self, method: str, path: str) -> Route | None:
        return self.router.match(method, path)

    def methods_for(self, path: str) -> frozenset[str]:
        return self.router.methods_for(path)

    def operation(self, product_slug: str, operation_id: str) -> Route | None:
        return self.router.operation(product_slug, operation_id)

    @property
    def size(self) -> int:
        return self.router.size


class _State:
    snapshot: Catalogue | None = None
    checked_at = float("-inf")


_state = _State()
_lock = threading.Lock()


def catalogue() -> Catalogue:
    """The current snapshot (see the protocol above). Call from synchronous code; async code
    uses ``acatalogue``."""
    snapshot = _state.snapshot
    if snapshot is not None and time.monotonic() - _state.checked_at < CHECK_INTERVAL_S:
        return snapshot
    return _refresh()


async def acatalogue() -> Catalogue:
    """``catalogue()`` for async views: the warm path without a thread hop."""
    snapshot = _state.snapshot
    if snapshot is not None and time.monotonic() - _state.checked_at < CHECK_INTERVAL_S:
        return snapshot
    return await sync_to_async(_refresh)()


def _refresh() -> Catalogue:
    current = _state.snapshot
    # One thread checks; the others keep serving the snapshot they have (a cold process waits).
    if current is None:
        _lock.acquire()
    elif not _lock.acquire(blocking=False):
        return current
    try:
        current = _state.snapshot
        if current is not None and time.monotonic() - _state.checked_at < CHECK_INTERVAL_S:
            return current
        try:
            version: int | None = version_read()
        except RedisError:
            log.warning("catalogue: Redis unavailable, keeping the current snapshot", exc_info=True)
            if current is not None:
                _state.checked_at = time.monotonic()
                return current
            version = None
        if current is None or current.version is None or version != current.version:
            current = Catalogue(version=version, router=Router(routes_load()))
            _state.snapshot = current
        _state.checked_at = time.monotonic()
        return current
    finally:
        _lock.release()


def version_read() -> int:
    raw = redis_client().get(VERSION_KEY)
    return int(raw) if raw is not None else 0


def catalogue_changed() -> None:
    """Announce a change of products, operations or documents once the transaction commits."""
    transaction.on_commit(_publish)


def _publish() -> None:
    _state.checked_at = float("-inf")  # this process: look again on the next call
    try:
        redis_client().incr(VERSION_KEY)
    except RedisError:
        log.exception("catalogue: could not publish a change; other workers keep the old catalogue until the next one")


def catalogue_reset() -> None:
    """Forget this process's snapshot (tests simulate a fresh worker with it)."""
    with _lock:
        _state.snapshot = None
        _state.checked_at = float("-inf")


def routes_load() -> list[Route]:
    """Every enabled, not removed operation of every active product, as routes (4 queries)."""
    products = {
        product.pk: product
        for product in ApiProduct.objects.filter(is_active=True).prefetch_related("organizations", "plans")
    }
    rows = (
        Operation.objects.filter(product_id__in=products.keys(), enabled=True, removed_at__isnull=True)
        .order_by("product_id", "path_template", "method")
        .values_list(
            "product_id",
            "operation_id",
            "method",
            "path_template",
            "meter__code",
            "unit_rule",
            "units_fixed",
            "unit_source",
            "max_units",
            "required_scope",
        )
    )
    shared = {pk: _product_fields(product) for pk, product in products.items()}
    routes = []
    for product_id, operation_id, method, template, meter, rule, units_fixed, source, max_units, scope in rows:
        pointer = pointer_parse(source) if rule in {"request_json_array_length", "response_json_field"} else ()
        routes.append(
            Route(
                **shared[product_id],
                operation_id=operation_id,
                method=method,
                path_template=template,
                meter=meter,
                unit_rule=rule,
                units_fixed=units_fixed,
                unit_source=source,
                unit_pointer=pointer,
                max_units=max_units,
                required_scope=scope,
                path_params={},
            )
        )
    return routes


class _ProductFields(TypedDict):
    product_id: int
    product_slug: str
    base_path: str
    upstream_url: str
    upstream_auth_header: str
    upstream_auth_secret: str
    connect_timeout_s: float
    read_timeout_s: float
    max_request_bytes: int
    max_response_bytes: int
    private: bool
    organization_ids: frozenset[int]
    plan_codes: frozenset[str]


def _product_fields(product: ApiProduct) -> _ProductFields:
    return {
        "product_id": product.pk,
        "product_slug": product.slug,
        "base_path": product.base_path,
        "upstream_url": product.upstream_url.rstrip("/"),
        "upstream_auth_header": product.upstream_auth_header,
        "upstream_auth_secret": product.upstream_auth_secret,
        "connect_timeout_s": float(product.connect_timeout_s),
        "read_timeout_s": float(product.read_timeout_s),
        "max_request_bytes": product.max_request_bytes,
        "max_response_bytes": product.max_response_bytes,
        "private": product.visibility == Visibility.PRIVATE,
        "organization_ids": frozenset(org.pk for org in product.organizations.all()),
        "plan_codes": frozenset(plan.code for plan in product.plans.all()),
    }
