"""/status/ and /status.json: probes stored by the beat task, uptime per day, incidents."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from keys.services import api_key_create
from public import status
from public.models import Component, Incident, IncidentImpact, IncidentStatus, IncidentUpdate, ProbeResult
from public.tasks import status_probe_run, status_prune
from usage.recorder import recorder
from usage.tasks import usage_ingest_drain

pytestmark = pytest.mark.django_db


def test_probe_task_records_one_result_per_component(settings):
    settings.STATUS_API_PROBE_URL = "http://127.0.0.1:9/healthz"  # nothing listens: the API probe fails
    status_probe_run.delay()
    results = {r.component: r for r in ProbeResult.objects.all()}
    assert set(results) == set(Component.values)
    assert results["database"].ok and results["redis"].ok and results["usage"].ok
    assert not results["api"].ok and "ConnectError" in results["api"].detail


def test_beat_runs_the_probes_every_minute(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["status-probes"]
    assert entry["task"] == "public.tasks.status_probe_run" and entry["schedule"] == 60.0


def test_status_json_reports_live_state_and_is_an_outage_when_the_api_probe_fails(client, settings):
    settings.STATUS_API_PROBE_URL = "http://127.0.0.1:9/healthz"
    status.status_probe_run()
    data = client.get("/status.json").json()
    by_code = {c["code"]: c for c in data["components"]}
    assert data["status"] == "outage"
    assert by_code["api"]["status"] == "outage" and by_code["database"]["status"] == "operational"
    assert len(by_code["database"]["daily"]) == 90 and by_code["database"]["uptime_90d"] == 100.0


def test_all_green_when_every_probe_passes(client, live_server, settings):
    settings.STATUS_API_PROBE_URL = f"{live_server.url}/healthz"
    status.status_probe_run()
    data = client.get("/status.json").json()
    assert data["status"] == "operational", data["components"]
    html = client.get("/status/").content.decode()
    assert "All systems operational" in html


def test_stale_probes_mean_workers_down_not_a_stale_green(client):
    old = timezone.now() - timedelta(minutes=10)
    ProbeResult.objects.bulk_create([ProbeResult(component=c, ok=True, checked_at=old) for c in Component.values])
    by_code = {s.code: s.state for s in status.component_states()}
    assert by_code["workers"] == "outage" and by_code["database"] == "unknown"


def test_daily_uptime_counts_failed_probes():
    today = timezone.now().replace(hour=12, minute=0, second=0, microsecond=0)
    yesterday = today - timedelta(days=1)
    ProbeResult.objects.bulk_create(
        [ProbeResult(component="api", ok=i != 0, checked_at=yesterday + timedelta(minutes=i)) for i in range(4)]
        + [ProbeResult(component="api", ok=True, checked_at=today)]
    )
    series = status.uptime_by_day(today=today.date())["api"]
    assert series[-2] == {"date": yesterday.date().isoformat(), "uptime": 75.0, "checks": 4}
    assert series[-1]["uptime"] == 100.0 and series[0]["uptime"] is None
    assert status.uptime_percent(series) == 80.0


def test_open_incident_degrades_its_component_and_is_shown(client, live_server, settings):
    settings.STATUS_API_PROBE_URL = f"{live_server.url}/healthz"
    status.status_probe_run()
    incident = Incident.objects.create(title="Slow SMS delivery", impact=IncidentImpact.MINOR, components=["api"])
    IncidentUpdate.objects.create(
        incident=incident, status=IncidentStatus.INVESTIGATING, body="Looking into carrier delays."
    )
    data = client.get("/status.json").json()
    assert data["status"] == "degraded"
    assert data["incidents"][0]["title"] == "Slow SMS delivery"
    assert data["incidents"][0]["updates"][0]["body"] == "Looking into carrier delays."
    html = client.get("/status/").content.decode()
    assert "Slow SMS delivery" in html and "Looking into carrier delays." in html


def test_prune_drops_results_past_retention(settings):
    settings.STATUS_RETENTION_DAYS = 95
    ProbeResult.objects.create(component="api", ok=True, checked_at=timezone.now() - timedelta(days=100))
    ProbeResult.objects.create(component="api", ok=True)
    assert status_prune.delay().get() == 1
    assert ProbeResult.objects.count() == 1


def test_p95_latency_per_endpoint_comes_from_real_gateway_traffic(client, org, user, demo_product, redis_client):
    """Real calls through the gateway → usage stream → consumer → rollups → /status.json."""
    _key, secret = api_key_create(org=org, name="traffic", mode="test", user=user)
    for _ in range(2):  # the Free plan allows 2 requests per second
        response = client.get("/v1/demo/deliveries/trk_" + "0" * 24, HTTP_AUTHORIZATION=f"Bearer {secret}")
        assert response.status_code == 200
    recorder.flush_all()
    usage_ingest_drain()  # beat's drain; enqueues the rollup of the touched slices (eager here)
    data = client.get("/status.json").json()
    rows = {row["endpoint"]: row for row in data["latency_p95"]}
    assert "delivery_status_get" in rows, data["latency_p95"]
    assert rows["delivery_status_get"]["p95_ms"] is not None and rows["delivery_status_get"]["p95_ms"] > 0
    assert set(rows["delivery_status_get"]) == {"endpoint", "p95_ms"}  # no request volumes in public
    assert "delivery_status_get" in client.get("/status/").content.decode()


def test_a_new_probe_run_shows_on_the_next_page_load_despite_the_cache(client, live_server, settings):
    settings.STATUS_API_PROBE_URL = f"{live_server.url}/healthz"
    assert client.get("/status.json").json()["components"][0]["uptime_90d"] is None  # cached: no data
    status.status_probe_run()
    assert client.get("/status.json").json()["components"][0]["uptime_90d"] == 100.0
