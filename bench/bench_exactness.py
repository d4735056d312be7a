#!/usr/bin/env python
"""Rate-limit exactness: 64 concurrent clients vs a 100/min plan across several server processes.

Starts the portal as `make run` does (granian ASGI) with 3 worker processes, gives a bench
organization a plan of 100 requests per minute (no per-second limit, no quota), then lets
wrk hammer one metered endpoint with 64 concurrent connections for 5 seconds, all inside
one minute window. Exactly 100 requests must be admitted; every other answer must be a 429.

    DATABASE_URL=… REDIS_URL=… .venv/bin/python bench/bench_exactness.py [--workers 3] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import bench_org, django_setup, prepare_database, start_server, stop_server, wrk

PORT = int(os.environ.get("BENCH_PORT", "8301"))
LIMIT = 100


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument(
        "--limit",
        type=int,
        default=LIMIT,
        help="requests per minute; above LIMITER_LEASE_FLOOR (1000) admission leases take part",
    )
    args = parser.parse_args()
    prepare_database()
    django_setup()
    from portal.redis import redis_client
    from usage.limiter import quota_used

    proc = start_server(port=PORT, workers=args.workers)
    failures = 0
    try:
        for round_no in range(1, args.rounds + 1):
            org, raw = bench_org(slug="bench-exactness", rate_per_minute=args.limit)
            redis_client().delete(f"{{org:{org.pk}}}:rl", f"{{org:{org.pk}}}:quota")
            now = redis_client().time()[0]
            if now % 60 > 45:  # keep the whole run inside one fixed minute window
                time.sleep(61 - now % 60)
            result = wrk(
                f"http://127.0.0.1:{PORT}/v1/demo/deliveries/trk_0123456789abcdef01234567",
                seconds=5,
                connections=args.connections,
                threads=2,
                headers={"X-API-Key": raw},
            )
            admitted = result["requests"] - result["non_2xx"]
            time.sleep(1.0)  # leases end and refunds land (LIMITER_LEASE_SECONDS + a recorder flush)
            counted = quota_used(org_id=org.pk)
            ok = admitted == args.limit and counted == args.limit
            failures += not ok
            print(
                f"round {round_no}: {args.connections} clients, {args.workers} server processes, "
                f"{result['requests']} requests in 5 s -> admitted {admitted} (Redis counter {counted}), "
                f"refused {result['non_2xx']}  [{'EXACT' if ok else 'WRONG'}]  socket errors: {result['socket_errors'] or 'none'}"
            )
    finally:
        stop_server(proc)
    print(
        f"PASS: exactly {args.limit} admitted every round" if not failures else f"FAIL: {failures} round(s) not exact"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
