"""``GET /metrics``: Prometheus text format, for a scraper holding ``METRICS_TOKEN``.

What is served: the counters and histograms every process writes (``portal.metrics``; with
``PROMETHEUS_MULTIPROC_DIR``, the sum of every process's files, so any web worker answers for
all of them), plus gauges read at scrape time from Redis and PostgreSQL (``console.health``,
the same numbers as the console's health page). A source that cannot be read reports
``tollgate_health_source_up{source=…} 0`` and leaves its gauges out; the scrape still succeeds.

Access: ``Authorization: Bearer <METRICS_TOKEN>``, compared in constant time. No token
configured: 404, as if there were no endpoint. Missing or wrong token: 401 problem+json.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Iterator

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from console.health import Health, health_read
from portal.metrics import MULTIPROCESS_DIR
from portal.problems import problem_body, problem_http_response


def health_metrics(health: Health) -> Iterator[Metric]:
    """The scrape-time gauges of one health reading."""
    up = GaugeMetricFamily(
        "tollgate_health_source_up", "1 if the source was read at this scrape, 0 if it failed.", labels=["source"]
    )
    for reading in health.readings.values():
        up.add_metric([reading.source], 1.0 if reading.ok else 0.0)
    yield up
    usage, rollups, tasks = health["usage"], health["rollups"], health["tasks"]
    webhooks, providers = health["webhooks"], health["providers"]
    if usage.ok:
        for name, key, text in (
            ("tollgate_usage_stream_length", "stream_length", "Entries in the usage stream (read or not)."),
            ("tollgate_usage_consumer_lag", "lag", "Usage stream entries not yet read by the consumer group."),
            ("tollgate_usage_consumer_pending", "pending", "Usage stream entries read but not yet acknowledged."),
            ("tollgate_usage_dead_letters", "dead_letters", "Entries in the usage dead-letter stream."),
        ):
            yield GaugeMetricFamily(name, text, value=usage.values[key])
    if rollups.ok and rollups.values["lag_seconds"] is not None:
        yield GaugeMetricFamily(
            "tollgate_usage_rollup_lag_seconds",
            "Seconds since the start of the newest hourly usage rollup bucket.",
            value=rollups.values["lag_seconds"],
        )
    if tasks.ok:
        last = GaugeMetricFamily(
            "tollgate_task_last_run_timestamp_seconds",
            "When each Celery task last finished (Unix time), by task and final state.",
            labels=["task", "state"],
        )
        for run in tasks.values.values():
            last.add_metric([run.task, run.state], run.finished_at)
        yield last
    if webhooks.ok:
        attempts = GaugeMetricFamily(
            "tollgate_webhook_attempts_last_hour",
            "Customer webhook attempts in the last hour, by outcome (failed: no answer or not 2xx).",
            labels=["outcome"],
        )
        attempts.add_metric(["succeeded"], webhooks.values["attempts"] - webhooks.values["failed"])
        attempts.add_metric(["failed"], webhooks.values["failed"])
        yield attempts
    if providers.ok:
        errors = GaugeMetricFamily(
            "tollgate_provider_webhook_errors_last_hour",
            "Payment provider webhooks that failed in the last hour, by provider.",
            labels=["provider"],
        )
        for provider, count in sorted(providers.values.items()):
            errors.add_metric([provider], count)
        yield errors


class _Scrape(Collector):
    """What one scrape collects: the processes' samples, then the health gauges."""

    def __init__(self, samples: Iterable[Metric]) -> None:
        self.samples = samples

    def collect(self) -> Iterator[Metric]:
        yield from self.samples
        yield from health_metrics(health_read())


def _process_samples() -> Iterable[Metric]:
    if MULTIPROCESS_DIR:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=MULTIPROCESS_DIR)
        return registry.collect()
    return REGISTRY.collect()


def _authorized(request: HttpRequest, token: str) -> bool:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    sent = header[7:].strip() if header[:7].lower() == "bearer " else ""
    return hmac.compare_digest(sent.encode(), token.encode())


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    token = settings.METRICS_TOKEN
    if not token:
        raise Http404
    if not _authorized(request, token):
        body = problem_body("unauthenticated", "Send the metrics token as `Authorization: Bearer <METRICS_TOKEN>`.")
        return problem_http_response(body, headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    return HttpResponse(generate_latest(_Scrape(_process_samples())), content_type=CONTENT_TYPE_LATEST)
