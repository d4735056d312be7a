"""/status/ and /status.json: component states, daily uptime, p95 latency and incidents,
read through ``public.status``."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from public import status


def _status_payload() -> dict:
    states = status.component_states()
    uptime = status.uptime_by_day()
    return {
        "states": states,
        "overall": status.overall_state(states),
        "uptime": uptime,
        "latency": status.endpoint_latency(),
        "incidents": status.incidents_recent(),
    }


@never_cache
@require_GET
def status_page(request: HttpRequest) -> HttpResponse:
    payload = _status_payload()
    components = []
    for state in payload["states"]:
        series = payload["uptime"][state.code]
        components.append(
            {
                "state": state,
                "label": status.STATE_LABELS[state.state],
                "series": series,
                "uptime": status.uptime_percent(series),
            }
        )
    return render(
        request,
        "public/status.html",
        {
            "overall": payload["overall"],
            "overall_label": {
                "operational": "All systems operational",
                "degraded": "Some systems are degraded",
                "outage": "Partial or major outage",
                "unknown": "Status unknown — probes have not reported yet",
            }[payload["overall"]],
            "components": components,
            "latency": payload["latency"],
            "open_incidents": [i for i in payload["incidents"] if i.is_open],
            "past_incidents": [i for i in payload["incidents"] if not i.is_open],
            "now": timezone.now(),
        },
    )


@never_cache
@require_GET
def status_json(request: HttpRequest) -> JsonResponse:
    payload = _status_payload()
    return JsonResponse(
        {
            "status": payload["overall"],
            "generated_at": timezone.now().isoformat(),
            "components": [
                {
                    "code": s.code,
                    "name": s.name,
                    "status": s.state,
                    "detail": s.detail,
                    "checked_at": s.checked_at.isoformat() if s.checked_at else None,
                    "latency_ms": s.latency_ms,
                    "uptime_90d": status.uptime_percent(payload["uptime"][s.code]),
                    "daily": payload["uptime"][s.code],
                }
                for s in payload["states"]
            ],
            "latency_p95": payload["latency"],
            "incidents": [
                {
                    "id": i.pk,
                    "title": i.title,
                    "impact": i.impact,
                    "status": i.status,
                    "components": i.components,
                    "started_at": i.started_at.isoformat(),
                    "resolved_at": i.resolved_at.isoformat() if i.resolved_at else None,
                    "updates": [
                        {"status": u.status, "body": u.body, "posted_at": u.posted_at.isoformat()}
                        for u in i.updates.all()
                    ],
                }
                for i in payload["incidents"]
            ],
        }
    )
