"""``manage.py usage_consumer``: a dedicated, long-running stream consumer.

``make run`` does not need it (beat's ``usage_ingest_drain`` task drains the stream every two
seconds); run one or more of these for higher volumes, each with its own name. ``--status``
prints the pipeline's state (stream length, lag, pending, dead letters, last batch).
"""

from __future__ import annotations

import json
import signal

from django.core.management.base import BaseCommand, CommandError

from portal.redis import redis_client
from usage.events import STREAM_KEY
from usage.ingest.consumer import IngestConsumer
from usage.ingest.stream import GROUP, ingest_status


class Command(BaseCommand):
    help = "Move usage events from the Redis stream into PostgreSQL (consumer group, ack after commit)."

    def add_arguments(self, parser):
        parser.add_argument("--name", help="Consumer name (default: host-pid).")
        parser.add_argument("--batch", type=int, help="Stream entries per read.")
        parser.add_argument("--block-ms", type=int, default=1000)
        parser.add_argument("--claim-idle-ms", type=int, help="Claim entries pending longer than this.")
        parser.add_argument("--once", action="store_true", help="Drain what is there, then exit.")
        parser.add_argument("--status", action="store_true", help="Print the pipeline state as JSON and exit.")

    def handle(self, *args, **options):
        redis = redis_client()
        if options["status"]:
            self.stdout.write(json.dumps(ingest_status(redis), indent=2, default=str))
            return
        consumer = IngestConsumer(
            redis,
            name=options["name"],
            batch=options["batch"],
            block_ms=options["block_ms"],
            claim_idle_ms=options["claim_idle_ms"],
        )
        if options["once"]:
            result = consumer.drain(seconds=3600)
            self.stdout.write(f"ingested {result.inserted} new of {result.events} events, {result.dead} dead letters")
            if result.retry:
                raise CommandError(f"database unavailable, entries left pending for a retry: {result.error}")
            return
        stopping = []
        signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
        signal.signal(signal.SIGINT, lambda *_: stopping.append(True))
        self.stdout.write(f"usage consumer {consumer.name} reading {STREAM_KEY} as group {GROUP}")
        self.stdout.flush()
        consumer.run_forever(stop=lambda: bool(stopping))
