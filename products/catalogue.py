"""The process's catalogue for the hot path: every enabled operation of every active product,
compiled into a ``products.router.Router`` and refreshed when an operator changes something.

Protocol:

1. ``catalogue()`` returns the current snapshot. Every ``CHECK_INTERVAL_S`` a checker thread
   (one per process, started on first use, busy or idle) reads the version at
   ``VERSION_KEY`` from Redis — one GET per process per second, never per request and never on
   a request's time: a warm lookup runs no SQL and no Redis command, and a slow Redis or
   PostgreSQL does not slow requests down through the catalogue.
2. When the version differs from the snapshot's, the checker rebuilds the snapshot from
   PostgreSQL (four queries whatever the size) and swaps it in; requests already holding the
   old one finish with it. The version is read *before* the rows, so a change that commits
   during the rebuild is caught by the next check.
3. Every service that changes products, operations or documents calls ``catalogue_changed()``,
   which sets a new version after commit: every worker sees the change within
   ``CHECK_INTERVAL_S`` + one rebuild (< 2 s); the changing process drops its snapshot and
   rebuilds it on its next call, before answering.

Redis down: the process keeps serving its snapshot and retries on the next check. A cold
process (no snapshot yet) builds on the request's thread; without Redis it builds from
PostgreSQL without a version, and the next check rebuilds once Redis answers.

Key: ``tg:catalogue:version`` — a random token, no expiry (deployment-wide, not per organization).
A token, not a counter: a counter that Redis lost would start again at 1 and could repeat the
version a worker already holds, which would then never rebuild.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from dataclasses import dataclass
from typing import TypedDict

from asgiref.sync import sync_to_async
from django.db import connection, transaction
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

    version: str | None
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
    checker_pid = 0  # the process whose checker thread runs (a forked worker starts its own)


_state = _State()
_lock = threading.Lock()


def catalogue() -> Catalogue:
    """The current snapshot (see the protocol above). Never waits on Redis or PostgreSQL once
    the process has one: the version check runs on the process's checker thread."""
    snapshot = _state.snapshot
    return snapshot if snapshot is not None else _build_now()


async def acatalogue() -> Catalogue:
    """``catalogue()`` for async views: only a cold process hops to a thread (to build)."""
    snapshot = _state.snapshot
    return snapshot if snapshot is not None else await sync_to_async(_build_now)()


def _build_now() -> Catalogue:
    """A cold process (or one that changed the catalogue itself) builds before it answers."""
    _checker_ensure()
    with _lock:
        if _state.snapshot is not None:
            return _state.snapshot
        try:
            version: str | None = version_read()
        except RedisError:
            log.warning("catalogue: Redis unavailable; building without a version", exc_info=True)
            version = None
        _state.snapshot = Catalogue(version=version, router=Router(routes_load()))
        return _state.snapshot


def _checker_ensure() -> None:
    """One checker thread per process, busy or idle, started on first use."""
    if _state.checker_pid == os.getpid():
        return
    with _lock:
        if _state.checker_pid == os.getpid():
            return
        _state.checker_pid = os.getpid()
    threading.Thread(target=_check_forever, name="catalogue-check", daemon=True).start()


def _check_forever() -> None:
    while True:
        time.sleep(CHECK_INTERVAL_S)
        if _state.snapshot is not None:
            _check()


def _check() -> None:
    """Compare the version in Redis with the snapshot's; rebuild and swap when it moved. Any
    failure keeps the current snapshot (retried at the next interval)."""
    try:
        current = _state.snapshot
        version = version_read()
        if current is None or current.version != version:
            rebuilt = Catalogue(version=version, router=Router(routes_load()))
            with _lock:
                if _state.snapshot is current:  # not reset or rebuilt meanwhile
                    _state.snapshot = rebuilt
    except Exception:
        log.warning("catalogue: version check failed; keeping the current snapshot", exc_info=True)
    finally:
        connection.close()  # this thread's own connection, if the rebuild opened one


def version_read() -> str:
    """The current version; "" while no change was ever published (or Redis lost it)."""
    raw = redis_client().get(VERSION_KEY)
    return raw.decode() if isinstance(raw, bytes) else (raw or "")


def catalogue_changed() -> None:
    """Announce a change of products, operations or documents once the transaction commits."""
    transaction.on_commit(_publish)


def _publish() -> None:
    with _lock:
        _state.snapshot = None  # this process: rebuild on the next call, before answering
    try:
        redis_client().set(VERSION_KEY, uuid.uuid4().hex)
    except RedisError:
        log.exception("catalogue: could not publish a change; other workers keep the old catalogue until the next one")


def catalogue_reset() -> None:
    """Forget this process's snapshot (tests simulate a fresh worker with it)."""
    with _lock:
        _state.snapshot = None


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
