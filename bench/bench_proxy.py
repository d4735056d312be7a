#!/usr/bin/env python
"""Gateway benchmark: an API product's call (a) to its upstream directly, (b) through the gateway
with metering off, (c) through the gateway metered — in ONE run, interleaved, best of each.

Starts the portal as `make run` does (migrate, seed_demo, collectstatic, granian ASGI, 2 workers)
with the demo product's upstream (devtools/demo_upstream.py, granian, 1 worker), then measures
with wrk GET <delivery status> of the demo product:
  (a) http://127.0.0.1:<upstream>/deliveries/<id>          the upstream alone
  (b) /v1/_baseline/demo/deliveries/<id>                      routing + upstream URL + pooled proxy
  (c) /v1/demo/deliveries/<id>                                + key, admission script, usage event
and reports b/a, c/b (target >= 0.85), SQL queries per metered request (target 0 for a warm
key), Redis commands before the response (target <= 1, MONITOR), what made-up keys cost, and
(c) again through a product of 500 operations (target: within 5 % of the 3-operation one).

    DATABASE_URL=… REDIS_URL=… .venv/bin/python bench/bench_proxy.py [--seconds 8]
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
from _harness import UPSTREAM_PORT, bench_org, django_setup, prepare_database, start_server, stop_server, wrk

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
        conn.request("GET", f"/v1/demo/deliveries/{TRACKING}", headers={"Authorization": f"Bearer {raw_key}"})
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
            "GET",
            f"/v1/demo/deliveries/{TRACKING}",
            headers={"Authorization": f"Bearer {raw}", "X-Forwarded-For": address},
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


BIG_OPERATIONS = 500


def big_product() -> str:
    """A product of BIG_OPERATIONS operations at /v1/bulk on the demo upstream; its path of
    the delivery status operation."""
    from django.conf import settings

    from plans.models import Meter
    from products.document_import import document_apply
    from products.models import ApiProduct
    from products.services import operation_update, product_create, product_update

    paths = {
        f"/r{n}/items/{{id}}": {"get": {"operationId": f"item_get_{n}", "parameters": [_id()], "responses": _ok()}}
        for n in range(BIG_OPERATIONS - 1)
    }
    paths["/deliveries/{id}"] = {
        "get": {"operationId": "delivery_status_get", "parameters": [_id()], "responses": _ok()}
    }
    document = {"openapi": "3.1.0", "info": {"title": "Bulk", "version": "1"}, "paths": paths}
    product = ApiProduct.objects.filter(slug="bench-bulk").first() or product_create(
        name="Bench bulk", slug="bench-bulk", base_path="/v1/bulk", upstream_url=settings.DEMO_UPSTREAM_URL
    )
    if product.upstream_url != settings.DEMO_UPSTREAM_URL:  # left by a run with another upstream port
        product = product_update(product=product, upstream_url=settings.DEMO_UPSTREAM_URL)
    document_apply(product=product, text=json.dumps(document), user=None)
    operation = product.operations.get(operation_id="delivery_status_get")
    operation_update(operation=operation, meter=Meter.objects.get(code="delivery.status_check"))
    assert product.operations.filter(enabled=True).count() == BIG_OPERATIONS
    return f"/v1/bulk/deliveries/{TRACKING}"


def _id() -> dict:
    return {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}


def _ok() -> dict:
    return {"200": {"description": "OK"}}


def measure(raw_key: str, *, seconds: int, connections: int, rounds: int) -> dict:
    from portal.redis import redis_client

    url_a = f"http://127.0.0.1:{UPSTREAM_PORT}/deliveries/{TRACKING}"
    url_b = f"http://127.0.0.1:{PORT}/v1/_baseline/demo/deliveries/{TRACKING}"
    url_c = f"http://127.0.0.1:{PORT}/v1/demo/deliveries/{TRACKING}"
    auth = {"Authorization": f"Bearer {raw_key}"}
    proc = start_server(
        port=PORT,
        workers=2,
        app="count_sql:application",
        extra_env={
            "GATEWAY_BASELINE_ENABLED": "1",
            "PYTHONPATH": str(Path(__file__).parent),
            "GATEWAY_TRUSTED_PROXIES": "1",
        },
    )  # unknown_keys_phase sets X-Forwarded-For
    try:
        # (a) and (b) carry no identity headers: the upstream runs without its signature check
        # (BENCH_UPSTREAM_TRUSTING), so it does the same work for all three.
        for url, headers in ((url_a, {}), (url_b, {}), (url_c, auth)):
            wrk(url, seconds=2, connections=8, headers=headers)  # warm workers, pools, caches
        client = redis_client()
        runs: dict[str, list] = {"a": [], "b": [], "c": []}
        sql, redis_calls = 0, dict[str, int]()
        for _ in range(rounds):
            runs["a"].append(wrk(url_a, seconds=seconds, connections=connections))
            runs["b"].append(wrk(url_b, seconds=seconds, connections=connections))
            client.set("bench:sql_queries", 0)
            before = commandstats(client)
            runs["c"].append(wrk(url_c, seconds=seconds, connections=connections, headers=auth))
            after = commandstats(client)
            sql += int(client.get("bench:sql_queries") or 0)
            for name, calls in after.items():
                redis_calls[name] = redis_calls.get(name, 0) + calls - before.get(name, 0)
        monitor = monitor_phase(raw_key, requests=500)
        unknown = unknown_keys_phase()
        url_big = f"http://127.0.0.1:{PORT}{big_product()}"
        time.sleep(2.5)  # the catalogue change reaches both workers within 2 s
        wrk(url_big, seconds=2, connections=8, headers=auth)
        small, big = [], []
        for _ in range(rounds):
            small.append(wrk(url_c, seconds=seconds, connections=connections, headers=auth))
            big.append(wrk(url_big, seconds=seconds, connections=connections, headers=auth))
    finally:
        stop_server(proc)
    best = {name: max(values, key=lambda r: r["rps"]) for name, values in runs.items()}
    served_c = sum(r["requests"] - r["non_2xx"] for r in runs["c"])
    small_best, big_best = max(small, key=lambda r: r["rps"]), max(big, key=lambda r: r["rps"])
    return {
        **best,
        "b_over_a": best["b"]["rps"] / best["a"]["rps"],
        "c_over_b": best["c"]["rps"] / best["b"]["rps"],
        "non_2xx": {name: sum(r["non_2xx"] for r in values) for name, values in runs.items()},
        "sql_per_request": sql / max(served_c, 1),
        "evalsha_per_request": redis_calls.get("evalsha", 0) / max(served_c, 1),
        "monitor": monitor,
        "unknown_keys": unknown,
        "all": {name: [round(r["rps"]) for r in values] for name, values in runs.items()},
        "catalogue_small": small_best,
        "catalogue_big": big_best,
        "big_over_small": big_best["rps"] / small_best["rps"],
        "big_non_2xx": sum(r["non_2xx"] for r in big),
    }


def report(result: dict) -> None:
    print("\n== granian, 2 gateway workers; demo upstream: granian, 1 worker ==")
    for name, label in (
        ("a", "(a) upstream directly      "),
        ("b", "(b) gateway, metering off  "),
        ("c", "(c) gateway, metered       "),
    ):
        r = result[name]
        print(
            f"{label}: {r['rps']:>9.0f} req/s   p50 {r['p50_ms']:.2f} ms   p99 {r['p99_ms']:.2f} ms   runs {result['all'][name]}"
        )
    print(f"b/a                            : {result['b_over_a']:.3f}   (what the gateway's routing and proxy cost)")
    print(f"c/b                            : {result['c_over_b']:.3f}   (target >= 0.85: what metering costs)")
    print(f"non-2xx                        : {result['non_2xx']}")
    print(f"SQL queries per request (c)    : {result['sql_per_request']:.4f}   (target 0 for a warm key)")
    print(f"EVALSHA per request (c)        : {result['evalsha_per_request']:.3f}   (INFO commandstats, server-wide)")
    m = result["monitor"]
    print(
        f"Redis commands before response : {m['before_response_per_request']:.3f} per request   (MONITOR, {m['requests']} sequential requests; target <= 1)"
    )
    print(
        f"Redis commands after response  : {m['background_per_request']:.3f} per request   (recorder batches: {m['commands']})"
    )
    u = result["unknown_keys"]
    print(
        f"Made-up keys, distinct         : {u['keys']} keys from {u['keys']} addresses -> {u['distinct_401']} x 401, "
        f"{u['sql_distinct']} SQL queries in all   (target << {u['keys']})"
    )
    print(f"Made-up keys, one address      : {u['flood_401']} x 401 then {u['flood_429']} x 429 (auth-failures)")
    s, b = result["catalogue_small"], result["catalogue_big"]
    print(f"(c), 3-operation product       : {s['rps']:>9.0f} req/s   p50 {s['p50_ms']:.2f} ms")
    print(
        f"(c), {BIG_OPERATIONS}-operation product     : {b['rps']:>9.0f} req/s   p50 {b['p50_ms']:.2f} ms   non-2xx {result['big_non_2xx']}"
    )
    print(f"big/small                      : {result['big_over_small']:.3f}   (target >= 0.95)")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    os.environ["BENCH_UPSTREAM_TRUSTING"] = "1"
    prepare_database()
    django_setup()
    _, raw_key = bench_org(slug="bench-throughput")  # unlimited private plan, overage billed
    result = measure(raw_key, seconds=args.seconds, connections=args.connections, rounds=args.rounds)
    report(result)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, default=str))
    ok = (
        result["c_over_b"] >= 0.85
        and result["big_over_small"] >= 0.95
        and result["sql_per_request"] == 0
        and result["monitor"]["before_response_per_request"] <= 1.0
    )
    print("\nPASS" if ok else "\nBELOW TARGET")
    return 0


if __name__ == "__main__":
    sys.exit(main())
