"""Usage API and dashboard latency over 10 million events (target: p95 < 200 ms).

Generates the events with ``generate_series`` straight into the monthly partitions of a
separate database (``USAGE_BENCH_DATABASE_URL``, default ``<DATABASE_URL>_bench``), rolls them
up with the same code beat runs, then times the usage API and the dashboard page through
Django's test client as a signed-in member of the busiest organization (20 % of all events,
20 keys, 8 operations; the other 80 % spread over 99 organizations). The generated data is kept for the next run (``--regenerate`` to redo).

    export DATABASE_URL=… REDIS_URL=…; .venv/bin/python bench/bench_usage_api.py [--events 10000000]
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime, timedelta

from _usage_bench_db import setup

GENERATE = """
INSERT INTO usage_event (id, occurred_at, org_id, user_id, api_key_id, api_key_prefix, mode, operation_id, method,
                         status, units, meter, latency_ms, plan, request_id)
SELECT gen_random_uuid(),
       %(start)s::timestamptz + (i * %(step)s::double precision) * interval '1 second',
       CASE WHEN i %% 5 = 0 THEN %(org)s ELSE %(org)s + 1 + (i %% 99) END,
       NULL, NULL,
       'tg_live_k' || lpad(((i / 7) %% 20)::text, 2, '0'),
       CASE WHEN i %% 50 = 0 THEN 'test' ELSE 'live' END,
       (ARRAY['sms_send','sms_status','delivery_check','ai_complete','ai_embed','lookup','webhook_test','balance'])[1 + (i / 3) %% 8],
       'POST',
       CASE WHEN i %% 100 = 0 THEN 500 WHEN i %% 33 = 0 THEN 404 ELSE 200 END,
       1 + (i %% 3),
       (ARRAY['sms.sent','sms.sent','delivery.check','ai.tokens','ai.tokens','lookup','webhook','balance'])[1 + (i / 3) %% 8],
       1 + (-ln(1 - random()) * 40),
       'pro', 'bench-' || i
FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS i
"""


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--requests", type=int, default=40, help="timed requests per URL")
    parser.add_argument("--regenerate", action="store_true")
    args = parser.parse_args()
    setup()

    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    from accounts.models import Membership, Organization, Role, User
    from plans.models import Plan
    from usage import partitions, rollups

    setup_test_environment()
    Plan.objects.get_or_create(code="free", defaults={"name": "Free", "monthly_quota": 1000})
    user, _ = User.objects.get_or_create(email="bench@example.com")
    org, _ = Organization.objects.get_or_create(slug="bench-busiest", defaults={"name": "Busiest customer"})
    Membership.objects.get_or_create(organization=org, user=user, defaults={"role": Role.OWNER})

    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    start = end - timedelta(days=args.days)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM usage_event")
        have = cursor.fetchone()[0]
    if args.regenerate or have < args.events:
        print(f"generating {args.events:,} events over {args.days} days …", flush=True)
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE usage_event, usage_rollup")
        partitions.partitions_ensure_ahead(now=start, months_ahead=2)
        t0 = time.perf_counter()
        step = args.days * 86_400 / args.events
        chunk = 1_000_000
        for lo in range(0, args.events, chunk):
            with connection.cursor() as cursor:
                cursor.execute(
                    GENERATE,
                    {"start": start, "step": step, "org": org.pk, "lo": lo, "hi": min(lo + chunk, args.events) - 1},
                )
            print(f"  {min(lo + chunk, args.events):,} rows ({time.perf_counter() - t0:.0f} s)", flush=True)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE usage_event")
        print(f"generated in {time.perf_counter() - t0:.0f} s; rolling up …", flush=True)
        t0 = time.perf_counter()
        hours = rollups.rollup_range_recompute(start=start, end=end)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE usage_rollup")
            cursor.execute("SELECT count(*) FROM usage_rollup")
            rollup_rows = cursor.fetchone()[0]
        print(f"rolled up {hours} hours into {rollup_rows:,} rows in {time.perf_counter() - t0:.0f} s", flush=True)

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM usage_event")
        total = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM usage_event WHERE org_id = %s", [org.pk])
        mine = cursor.fetchone()[0]
    print(f"{total:,} events in the ledger, {mine:,} of them the measured organization's")

    client = Client()
    client.force_login(user)
    session = client.session
    session["active_org_id"] = org.pk
    session.save()
    urls = [
        "/api/usage/?window=24h&group_by=key",
        "/api/usage/?window=7d&group_by=operation",
        "/api/usage/?window=30d&group_by=status_class",
        "/api/usage/?window=period&group_by=key",
        f"/api/usage/?from={(end - timedelta(days=8)).isoformat()}&to={end.isoformat()}&granularity=hour&group_by=key".replace(
            "+", "%2B"
        ),
        f"/api/usage/?from={(end - timedelta(days=30)).isoformat()}&to={end.isoformat()}&granularity=day&group_by=key".replace(
            "+", "%2B"
        ),
        "/api/usage/?window=7d&key=tg_live_k03&group_by=operation",
        "/api/usage/?window=30d&operation=sms_send&group_by=status_class",
        "/api/usage/quota/",
        "/usage/",
        "/usage/card/",
    ]
    worst = 0.0
    # Baseline in the same run: the cheapest endpoint (no database), i.e. the request overhead.
    baseline = []
    for _ in range(args.requests):
        t0 = time.perf_counter()
        client.get("/healthz")
        baseline.append((time.perf_counter() - t0) * 1000)
    baseline.sort()
    print(
        f"{'/healthz (baseline: request overhead only)':<70} p50 {statistics.median(baseline):6.1f} ms   "
        f"p95 {baseline[max(0, int(len(baseline) * 0.95) - 1)]:6.1f} ms"
    )
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code, response.content[:300])
        timings = []
        for _ in range(args.requests):
            t0 = time.perf_counter()
            client.get(url)
            timings.append((time.perf_counter() - t0) * 1000)
        timings.sort()
        p95 = timings[max(0, int(len(timings) * 0.95) - 1)]
        worst = max(worst, p95)
        print(f"{url:<70} p50 {statistics.median(timings):6.1f} ms   p95 {p95:6.1f} ms")
    ok = worst < 200
    print(f"worst p95 {worst:.1f} ms over {total:,} events (target < 200 ms) {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
