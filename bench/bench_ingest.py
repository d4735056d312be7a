"""Usage ingestion throughput: the real pipeline vs a raw COPY of the same rows (same run).

Pipeline = XREADGROUP from the Redis stream → JSON unpack → COPY into staging → INSERT …
ON CONFLICT DO NOTHING into the partitioned table → COMMIT → XACK, exactly as the consumer
runs in production. Baseline = psycopg ``COPY`` of the same rows, already formatted, straight
into the same partitioned table (so the indexes and partition routing cost the same).

Targets (DESIGN.md §6): pipeline / raw COPY >= 0.5, and >= 50,000 events/s.

    export DATABASE_URL=… REDIS_URL=…; .venv/bin/python bench/bench_ingest.py [--events 200000]
"""

from __future__ import annotations

import argparse
import io
import time
from datetime import UTC, datetime, timedelta

from _usage_bench_db import setup


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--per-entry", type=int, default=100, help="events per stream entry (hot path batching)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    setup("_bench_ingest")

    from django.db import connection

    from portal.redis import redis_client
    from usage import partitions
    from usage.events import STREAM_KEY, UsageEvent, pack
    from usage.ingest import stream
    from usage.ingest.consumer import IngestConsumer
    from usage.ingest.rows import COLUMNS

    redis = redis_client()
    base = datetime.now(UTC).replace(microsecond=0)
    partitions.partitions_ensure_ahead(now=base - timedelta(days=40), months_ahead=3)

    def events():
        return [
            UsageEvent(
                org_id=1 + i % 50,
                api_key_prefix=f"tg_live_{i % 200:04d}",
                operation_id=("sms_send", "status_check", "ai_complete")[i % 3],
                method="POST",
                status=(200, 200, 201, 404, 500)[i % 5],
                units=1 + i % 4,
                meter=("sms.sent", "delivery.check", "ai.tokens")[i % 3],
                latency_ms=1.0 + (i * 37) % 900,
                plan="pro",
                request_id=f"req-{i}",
                user_id=None,
                api_key_id=i % 200,
                occurred_at=(base - timedelta(seconds=i % 86_400)).isoformat(),
            )
            for i in range(args.events)
        ]

    def truncate():
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE usage_event")

    results = []
    for round_no in range(args.rounds):
        batch = events()
        # Baseline: raw COPY of the same rows (pre-formatted text, one transaction).
        buf = io.StringIO()
        for e in batch:
            buf.write(
                "\t".join(
                    str(v) if v is not None else r"\N"
                    for v in (
                        e.id,
                        e.occurred_at,
                        e.org_id,
                        e.user_id,
                        e.api_key_id,
                        e.api_key_prefix,
                        e.mode,
                        e.operation_id,
                        e.method,
                        e.status,
                        e.units,
                        e.meter,
                        e.latency_ms,
                        e.plan,
                        e.request_id,
                    )
                )
                + "\n"
            )
        data = buf.getvalue()
        truncate()
        t0 = time.perf_counter()
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY usage_event ({', '.join(COLUMNS)}) FROM STDIN") as copy,
        ):
            copy.write(data)
        connection.commit() if not connection.get_autocommit() else None
        copy_s = time.perf_counter() - t0

        # Pipeline: produce onto the stream (not timed: that is the hot path's cost), then drain.
        truncate()
        redis.delete(STREAM_KEY, stream.DIRTY_KEY)
        pipe = redis.pipeline(transaction=False)
        for i in range(0, len(batch), args.per_entry):
            pipe.xadd(STREAM_KEY, {"b": pack(batch[i : i + args.per_entry])})
        pipe.execute()
        consumer = IngestConsumer(redis, name=f"bench-{round_no}")
        t0 = time.perf_counter()
        result = consumer.drain(seconds=600)
        pipeline_s = time.perf_counter() - t0
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM usage_event")
            stored = cursor.fetchone()[0]
        assert result.inserted == stored == len(batch), (result, stored)
        assert redis.xpending(STREAM_KEY, stream.GROUP)["pending"] == 0
        results.append((len(batch) / copy_s, len(batch) / pipeline_s))
        print(
            f"round {round_no + 1}: raw COPY {len(batch) / copy_s:,.0f} ev/s ({copy_s:.2f} s) · "
            f"pipeline {len(batch) / pipeline_s:,.0f} ev/s ({pipeline_s:.2f} s) · ratio {copy_s / pipeline_s:.2f}"
        )
        stream.stream_trim(redis)
    truncate()
    copy_rate = sorted(r[0] for r in results)[len(results) // 2]
    pipe_rate = sorted(r[1] for r in results)[len(results) // 2]
    ratio = pipe_rate / copy_rate
    ok = ratio >= 0.5 and pipe_rate >= 50_000
    print(
        f"median: raw COPY {copy_rate:,.0f} ev/s, pipeline {pipe_rate:,.0f} ev/s, ratio {ratio:.2f} "
        f"(targets >= 0.50 and >= 50,000 ev/s) {'PASS' if ok else 'FAIL'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
