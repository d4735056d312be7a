"""Prometheus metrics every process updates: the gateway's calls and refusals, webhook deliveries,
provider webhooks and payments. Served at ``/metrics`` (``console.metrics``), with the gauges read
at scrape time (``console.health``). Every metric and label is described in docs/metrics.md.

Processes: with ``PROMETHEUS_MULTIPROC_DIR`` set (before this module is imported) every sample
goes to an mmap'd file of that directory, one per process and metric type, and a scrape of any
web worker adds up every file: granian workers and Celery workers are counted together. The
directory must be emptied before the processes start (``devtools/run.py`` does it): files of
an earlier run would add their old counts. Unset: the process's own registry (one process).

Invariants — do not break:
  * Labels are bounded: a catalogue operation id and product slug, an HTTP status, a provider
    name, an outcome or refusal reason from a fixed set. Never an organization, key or
    request id (every distinct label value is a series, and a file entry in every process).
  * Only counters and histograms here: their per-process files stay correct after the process
    exits (a gauge of a dead process would not). Gauges are computed at scrape time.
  * Files are named by ``<host>-<pid>``, not the pid alone, so containers that share the
    directory (one volume, several hosts) never write the same file.
"""

from __future__ import annotations

import os
import socket

from prometheus_client import Counter, Histogram, values

MULTIPROCESS_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
_HOST = socket.gethostname()

_identity = [f"{_HOST}-{os.getpid()}"]
os.register_at_fork(after_in_child=lambda: _identity.__setitem__(0, f"{_HOST}-{os.getpid()}"))

if MULTIPROCESS_DIR:
    # Checked on every sample (a forked child must not write its parent's files): a list read,
    # kept current by the fork hook above, instead of formatting the name each time.
    values.ValueClass = values.MultiProcessValue(lambda: _identity[0])

# Gateway latency, from the call's arrival to its answer's headers (streamed bodies excluded).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

GATEWAY_CALLS = Histogram(
    "tollgate_gateway_request_duration_seconds",
    "Admitted gateway calls: seconds from arrival to the answer, by product, operation and status.",
    ["product", "operation", "status"],
    buckets=LATENCY_BUCKETS,
)
GATEWAY_REFUSALS = Counter(
    "tollgate_gateway_refusals_total",
    "Gateway calls answered without reaching the upstream, by reason (a problem type slug).",
    ["reason"],
)
WEBHOOK_ATTEMPTS = Counter(
    "tollgate_webhook_delivery_attempts_total",
    "Outbound customer webhook attempts, by the delivery's state after the attempt.",
    ["outcome"],
)
PROVIDER_WEBHOOKS = Counter(
    "tollgate_provider_webhooks_total",
    "Payment provider webhooks received, by provider and how they ended.",
    ["provider", "outcome"],
)
PAYMENTS = Counter(
    "tollgate_payments_total",
    "Payment records written from provider events, by provider and the payment's resulting status.",
    ["provider", "outcome"],
)
