"""Error reports (Sentry) and traces (OpenTelemetry over OTLP/HTTP), each off unless its setting
is set (``SENTRY_DSN``, ``OTEL_EXPORTER_OTLP_ENDPOINT``).

``observability_init`` runs once per process while the settings load (web and Celery processes
alike); the Django instrumentation waits for the app registry (``PortalConfig.ready``) because it
edits ``MIDDLEWARE``, and ``portal/asgi.py`` wraps the ASGI application so that the gateway's fast
lane, which skips the middleware, is traced too.

No secret leaves the process: Sentry gets no request headers, cookies, query strings, bodies or
user details (``send_default_pii=False`` plus ``sentry_before_send``), and every string it would
send is scrubbed of keys and tokens (``portal.logs.redact``); spans carry paths and URLs without
their query strings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from portal.logs import redact

if TYPE_CHECKING:
    from sentry_sdk.types import Breadcrumb, BreadcrumbHint, Event, Hint

# The SDKs are imported only by the switch that needs them: together they add ~0.2 s to the
# start-up of every process, for nothing when they are off.
_state: dict[str, Any] = {"sentry": False, "tracing": False, "django": False}


def observability_init(
    *,
    sentry_dsn: str,
    sentry_environment: str,
    sentry_traces_sample_rate: float,
    otlp_endpoint: str,
    service_name: str,
) -> None:
    if sentry_dsn and not _state["sentry"]:
        _sentry_init(sentry_dsn, sentry_environment, sentry_traces_sample_rate)
    if otlp_endpoint and not _state["tracing"]:
        _tracing_init(otlp_endpoint, service_name)


def tracing_enabled() -> bool:
    return _state["tracing"]


# --- Sentry ----------------------------------------------------------------------------------
def _sentry_init(dsn: str, environment: str, traces_sample_rate: float) -> None:
    import sentry_sdk  # noqa: PLC0415 - loaded only when switched on
    from sentry_sdk.integrations.celery import CeleryIntegration  # noqa: PLC0415 - loaded only when switched on
    from sentry_sdk.integrations.django import DjangoIntegration  # noqa: PLC0415 - loaded only when switched on
    from sentry_sdk.integrations.redis import RedisIntegration  # noqa: PLC0415 - loaded only when switched on

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        send_default_pii=False,
        max_request_body_size="never",
        traces_sample_rate=traces_sample_rate,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        # Redis commands name keys that hold secrets (session ids in cache keys, key digests).
        disabled_integrations=[RedisIntegration()],
        before_send=sentry_before_send,
        before_breadcrumb=sentry_before_breadcrumb,
    )
    _state["sentry"] = True


def sentry_before_send(event: Event, hint: Hint) -> Event:
    """Keep method and path; drop headers, cookies, query string, body and environment, then
    scrub every remaining string (messages, exception values, local variables)."""
    request = event.get("request")
    if isinstance(request, dict):
        url = request.get("url")
        event["request"] = {
            "method": request.get("method"),
            "url": _without_query(url) if isinstance(url, str) else None,
        }
    event.pop("user", None)
    return _scrubbed(event)


def sentry_before_breadcrumb(crumb: Breadcrumb, hint: BreadcrumbHint) -> Breadcrumb:
    return _scrubbed(crumb)


def _scrubbed(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: _scrubbed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrubbed(item) for item in value]
    return value


def _without_query(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


# --- OpenTelemetry ---------------------------------------------------------------------------
def _tracing_init(endpoint: str, service_name: str) -> None:
    from opentelemetry import trace  # noqa: PLC0415 - loaded only when switched on
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter  # noqa: PLC0415 - loaded only when switched on
    from opentelemetry.instrumentation.celery import CeleryInstrumentor  # noqa: PLC0415 - loaded only when switched on
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource  # noqa: PLC0415 - loaded only when switched on
    from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415 - loaded only when switched on
    from opentelemetry.sdk.trace.export import BatchSpanProcessor  # noqa: PLC0415 - loaded only when switched on

    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service_name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{endpoint.rstrip('/')}/v1/traces")))
    trace.set_tracer_provider(provider)
    CeleryInstrumentor().instrument()
    _state["tracing"] = True


def django_instrument() -> None:
    """Trace Django requests (``PortalConfig.ready``: after the settings, before the handler
    loads the middleware)."""
    if not _state["tracing"] or _state["django"]:
        return
    from opentelemetry.instrumentation.django import DjangoInstrumentor  # noqa: PLC0415 - loaded only when switched on

    DjangoInstrumentor().instrument(response_hook=_span_without_query)
    _state["django"] = True


def asgi_traced(application: Any) -> Any:
    """The ASGI application, wrapped in OpenTelemetry's ASGI middleware when tracing is on."""
    if not _state["tracing"]:
        return application
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware  # noqa: PLC0415 - loaded only when switched on

    return OpenTelemetryMiddleware(application, server_request_hook=_asgi_span_without_query)


_URL_ATTRIBUTES = ("http.url", "url.full")


def _span_without_query(span: Any, request: Any, response: Any = None) -> None:
    _drop_query(span, request.path)


def _asgi_span_without_query(span: Any, scope: dict[str, Any]) -> None:
    _drop_query(span, scope.get("path", ""))


def _drop_query(span: Any, path: str) -> None:
    if span is None or not span.is_recording():
        return
    span.set_attribute("http.target", path)
    span.set_attribute("url.query", "")
    for name in _URL_ATTRIBUTES:
        value = getattr(span, "attributes", {}).get(name)
        if isinstance(value, str):
            span.set_attribute(name, _without_query(value))
