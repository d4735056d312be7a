#!/usr/bin/env python
"""Hot-path benchmark: the sample endpoint unmetered (a) vs fully metered and limited (b).

Starts the portal as `make run` does (migrate, seed, collectstatic, granian ASGI, 2 workers),
then in ONE run measures with wrk:
  (a) GET /v1/_baseline/deliveries/<id>  — the same view, parsing and validation, no auth/limits/metering
  (b) GET /v1/deliveries/<id>            — API key + Lua admission (rate limits + quota) + usage event
interleaved a, b, a, b (best of each), and prints req/s, p50/p99, the ratio b/a (target ≥ 0.85),
SQL queries per request (target 0 for a warm key) and Redis commands per request issued before
the response (target ≤ 1; counted with MONITOR over a sequential phase, and cross-checked with
INFO commandstats over the wrk run), and what made-up keys cost: SQL queries for 500 distinct
ones (target ≪ 500) and the answers to a flood of them from one address (401s, then 429s).

    DATABASE_URL=… REDIS_URL=… .venv/bin/python bench/bench_gateway.py [--seconds 8] [--compare-servers]

--compare-servers also runs (a) and (b) under gunicorn + uvicorn workers, once, to pick the
faster server by measurement.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import bench_org, django_setup, prepare_database, start_server, stop_server, wrk

TRACKING = "trk_0123456789abcdef01234567"
PORT = int(os.environ.get("BENCH_PORT", "8300"))


def commandstats(client) -> dict[str, int]:
    return {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in client.info("commandstats").items()}


def monitor_phase(raw_key: str, *, requests: int) -> dict:
    """Sequential requests while MONITOR records every command sent to our Redis database."""
    import redis
    from django.conf import settings

    db = int(settings.REDIS_URL.rsplit("/", 1)[1] or 0)
    seen: list[str] = []
    ready, stop = threading.Event(), threading.Event()

    def listen():
        client = redis.Redis.from_url(settings.REDIS_URL)
        with client.monitor() as monitor:
            ready.set()
            for item in monitor.listen():
                # Commands a Lua script runs show up as client "lua": they are part of the one
                # EVALSHA round trip, not round trips of their own.
                if item.get("db") == db and item.get("client_type") != "lua":
                    seen.append(item["command"].split(" ", 1)[0].upper())
                if stop.is_set() and item["command"].startswith("ECHO bench-stop"):
                    break

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    ready.wait(5)
    time.sleep(0.2)
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)
    for _ in range(requests):
        conn.request("GET", f"/v1/deliveries/{TRACKING}", headers={"Authorization": f"Bearer {raw_key}"})
        response = conn.getresponse()
        response.read()
        assert response.status == 200, response.status
    time.sleep(0.5)  # let the recorder flush its last batch
    stop.set()
    redis.Redis.from_url(settings.REDIS_URL).echo("bench-stop")
    thread.join(5)
    counts: dict[str, int] = {}
    for command in seen:
        counts[command] = counts.get(command, 0) + 1
    background = {"XADD", "HSET", "SET"}  # the recorder thread's pipeline, written after responses
    setup = {"ECHO", "SELECT", "HELLO", "CLIENT", "PING"}  # connection set-up and our own stop marker
    before = sum(n for c, n in counts.items() if c not in background and c not in setup)
    return {
        "requests": requests,
        "commands": counts,
        "before_response_per_request": before / requests,
        "background_per_request": sum(counts.get(c, 0) for c in background) / requests,
    }


def unknown_keys_phase(*, keys: int = 500) -> dict:
    """``keys`` distinct made-up keys, each from another client address (so the per-address
    failure limit does not step in), then a flood from one address: SQL queries and answers."""
    import secrets

    from portal.redis import redis_client

    client = redis_client()
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)

    def call(raw: str, address: str) -> int:
        conn.request(
            "GET", f"/v1/deliveries/{TRACKING}", headers={"Authorization": f"Bearer {raw}", "X-Forwarded-For": address}
        )
        response = conn.getresponse()
        response.read()
        return response.status

    client.set("bench:sql_queries", 0)
    distinct = [
        call("tg_live_" + secrets.token_urlsafe(24), f"10.{n // 65536}.{n // 256 % 256}.{n % 256}") for n in range(keys)
    ]
    sql_distinct = int(client.get("bench:sql_queries") or 0)
    flood = [call("tg_live_" + secrets.token_urlsafe(24), "192.0.2.99") for _ in range(keys)]
    return {
        "keys": keys,
        "sql_distinct": sql_distinct,
        "distinct_401": distinct.count(401),
        "flood_401": flood.count(401),
        "flood_429": flood.count(429),
    }


def measure(kind: str, raw_key: str, *, seconds: int, connections: int, rounds: int) -> dict:
    from portal.redis import redis_client

    url_a = f"http://127.0.0.1:{PORT}/v1/_baseline/deliveries/{TRACKING}"
    url_b = f"http://127.0.0.1:{PORT}/v1/deliveries/{TRACKING}"
    auth = {"Authorization": f"Bearer {raw_key}"}
    proc = start_server(
        port=PORT,
        workers=2,
        kind=kind,
        app="count_sql:application",
        extra_env={
            "GATEWAY_BASELINE_ENABLED": "1",
            "PYTHONPATH": str(Path(__file__).parent),
            "GATEWAY_TRUSTED_PROXIES": "1",
        },
    )  # unknown_keys_phase sets X-Forwarded-For
    try:
        wrk(url_a, seconds=2, connections=8)  # warm both workers (imports, caches, key record)
        wrk(url_b, seconds=2, connections=8, headers=auth)
        client = redis_client()
        a_runs, b_runs, sql, redis_calls = [], [], 0, {}
        for _ in range(rounds):
            a_runs.append(wrk(url_a, seconds=seconds, connections=connections))
            client.set("bench:sql_queries", 0)
            before = commandstats(client)
            b = wrk(url_b, seconds=seconds, connections=connections, headers=auth)
            after = commandstats(client)
            b_runs.append(b)
            sql += int(client.get("bench:sql_queries") or 0)
            for name, calls in after.items():
                redis_calls[name] = redis_calls.get(name, 0) + calls - before.get(name, 0)
        drf = (
            wrk(
                f"http://127.0.0.1:{PORT}/v1/_baseline/drf/deliveries/{TRACKING}",
                seconds=seconds,
                connections=connections,
            )
            if kind == "granian"
            else None
        )
        monitor = monitor_phase(raw_key, requests=500) if kind == "granian" else None
        unknown = unknown_keys_phase() if kind == "granian" else None
    finally:
        stop_server(proc)
    a, b = max(a_runs, key=lambda r: r["rps"]), max(b_runs, key=lambda r: r["rps"])
    served_b = sum(r["requests"] - r["non_2xx"] for r in b_runs)
    return {
        "server": kind,
        "a": a,
        "b": b,
        "ratio": b["rps"] / a["rps"],
        "b_non_2xx": sum(r["non_2xx"] for r in b_runs),
        "sql_per_request": sql / max(served_b, 1),
        "evalsha_per_request": redis_calls.get("evalsha", 0) / max(served_b, 1),
        "redis_commands_server_wide": {k: v for k, v in redis_calls.items() if v > 0},
        "monitor": monitor,
        "drf_baseline": drf,
        "unknown_keys": unknown,
        "a_all": [r["rps"] for r in a_runs],
        "b_all": [r["rps"] for r in b_runs],
    }


def report(result: dict) -> None:
    a, b = result["a"], result["b"]
    print(f"\n== {result['server']} (2 workers) ==")
    print(
        f"(a) baseline, no auth/metering : {a['rps']:>9.0f} req/s   p50 {a['p50_ms']:.2f} ms   p99 {a['p99_ms']:.2f} ms   runs {result['a_all']}"
    )
    print(
        f"(b) metered + rate-limited     : {b['rps']:>9.0f} req/s   p50 {b['p50_ms']:.2f} ms   p99 {b['p99_ms']:.2f} ms   runs {result['b_all']}"
    )
    if result.get("drf_baseline"):
        d = result["drf_baseline"]
        print(
            f"(c) baseline through DRF APIView: {d['rps']:>8.0f} req/s   p50 {d['p50_ms']:.2f} ms   p99 {d['p99_ms']:.2f} ms   (c/a {d['rps'] / a['rps']:.3f})"
        )
    print(f"ratio b/a                      : {result['ratio']:.3f}   (target >= 0.85)")
    print(f"non-2xx in (b)                 : {result['b_non_2xx']}")
    print(f"SQL queries per request (b)    : {result['sql_per_request']:.4f}   (target 0 for a warm key)")
    print(f"EVALSHA per request (b)        : {result['evalsha_per_request']:.3f}   (INFO commandstats, server-wide)")
    if result["monitor"]:
        m = result["monitor"]
        print(
            f"Redis commands before response : {m['before_response_per_request']:.3f} per request   (MONITOR, {m['requests']} sequential requests; target <= 1)"
        )
        print(
            f"Redis commands after response  : {m['background_per_request']:.3f} per request   (recorder batches: {m['commands']})"
        )
    if result.get("unknown_keys"):
        u = result["unknown_keys"]
        print(
            f"Made-up keys, distinct         : {u['keys']} keys from {u['keys']} addresses -> {u['distinct_401']} x 401, "
            f"{u['sql_distinct']} SQL queries in all   (target << {u['keys']})"
        )
        print(f"Made-up keys, one address      : {u['flood_401']} x 401 then {u['flood_429']} x 429 (auth-failures)")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--compare-servers", action="store_true")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    prepare_database()
    django_setup()
    _, raw_key = bench_org(slug="bench-throughput")  # unlimited private plan, overage billed
    results = [measure("granian", raw_key, seconds=args.seconds, connections=args.connections, rounds=args.rounds)]
    report(results[0])
    if args.compare_servers:
        results.append(
            measure("gunicorn-uvicorn", raw_key, seconds=args.seconds, connections=args.connections, rounds=1)
        )
        report(results[1])
        fastest = max(results, key=lambda r: r["b"]["rps"])
        print(f"\nFaster for the metered path: {fastest['server']}")
    if args.json:
        Path(args.json).write_text(json.dumps([dict(r.items()) for r in results], indent=2, default=str))
    ok = (
        results[0]["ratio"] >= 0.85
        and results[0]["sql_per_request"] == 0
        and (results[0]["monitor"]["before_response_per_request"] <= 1.0)
    )
    print("\nPASS" if ok else "\nBELOW TARGET")
    return 0


if __name__ == "__main__":
    sys.exit(main())
