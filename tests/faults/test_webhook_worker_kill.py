"""A Celery worker killed (SIGKILL) in the middle of an outbound webhook delivery: in the end a
Standard Webhooks receiver that deduplicates on ``webhook-id`` has processed every event exactly
once, and every delivery is recorded as delivered.

Two workers share the queue. The receiver processes the first request it gets, then holds it
open without answering (a slow commit on its side); the test kills the worker that sent it (its
main and pool processes) while it waits. The killed attempt's transaction rolls back, its claim
expires, the sweeper (what beat runs every 10 s; called here once a second) enqueues the attempt
again and the surviving worker sends it: the receiver sees that event twice and processes it
once. Messages the killed worker had prefetched are lost with it and come back the same way.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from standardwebhooks.webhooks import Webhook

from portal.celery import app as celery_app
from tests.faults._celery import CeleryWorker, tcp_socket_inode, time_left
from webhooks.delivery import secret_new
from webhooks.events import customer_event_emit
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from webhooks.tasks import webhook_deliveries_sweep

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
EVENTS = 20
BUDGET_SECONDS = 60
CLAIM_SECONDS = 3


class DedupingReceiver:
    """A real Standard Webhooks receiver on a free loopback port: verifies the signature,
    processes each ``webhook-id`` once, answers 200 to duplicates. Holds the first request
    open after processing it, until ``release`` is set."""

    def __init__(self, secret: str):
        self.received: list[str] = []
        self.processed: Counter[str] = Counter()
        self.served_2xx = 0
        self.holding, self.release = threading.Event(), threading.Event()
        self.held_from_port = 0
        self.lock = threading.Lock()
        outer, verifier = self, Webhook(secret)

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = {k.lower(): v for k, v in self.headers.items()}
                verifier.verify(body, headers)  # raises (→ no answer, a failed attempt) on a bad signature
                msg_id = headers["webhook-id"]
                with outer.lock:
                    outer.received.append(msg_id)
                    if msg_id not in outer.processed:
                        outer.processed[msg_id] += 1  # "process" the event
                    hold = not outer.holding.is_set()
                    if hold:
                        outer.held_from_port = self.client_address[1]
                        outer.holding.set()
                if hold:
                    outer.release.wait(timeout=BUDGET_SECONDS)
                    return  # never answered: the sender is dead by now
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
                with outer.lock:
                    outer.served_2xx += 1

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def test_worker_killed_mid_delivery_every_event_is_processed_exactly_once(org, settings):
    deadline = time.monotonic() + BUDGET_SECONDS
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    settings.WEBHOOKS_CLAIM_SECONDS = CLAIM_SECONDS
    celery_app.conf.task_always_eager = False  # to the real broker, for the real workers
    worker_env = {"WEBHOOKS_ALLOW_PRIVATE_TARGETS": "1", "WEBHOOKS_CLAIM_SECONDS": str(CLAIM_SECONDS)}
    endpoint = WebhookEndpoint.objects.create(
        organization=org, url="http://placeholder/", event_types=[], secret=secret_new()
    )
    receiver = DedupingReceiver(endpoint.secret)
    endpoint.url = receiver.url
    endpoint.save(update_fields=["url"])
    workers: list[CeleryWorker] = []
    try:
        workers.extend(CeleryWorker(name, env=worker_env) for name in ("worker-a", "worker-b"))
        for worker in workers:
            worker.wait_ready(min(30, time_left(deadline)))
        for n in range(EVENTS):
            customer_event_emit(org_id=org.pk, type="invoice.paid", data={"n": n})  # enqueued on commit
        assert receiver.holding.wait(min(15, time_left(deadline))), "no delivery reached the receiver"
        held = receiver.received[0]
        sender_socket = tcp_socket_inode(local_port=receiver.held_from_port, remote_port=receiver.server.server_port)
        [victim] = [worker for worker in workers if worker.holds_socket(sender_socket)]
        victim.kill()  # in the middle of the held delivery
        undelivered = WebhookDelivery.objects.exclude(status=DeliveryStatus.SUCCEEDED)
        while undelivered.exists() and time.monotonic() < deadline - 1:
            webhook_deliveries_sweep()
            time.sleep(1)
    finally:
        for worker in workers:
            worker.stop()
        receiver.close()

    deliveries = WebhookDelivery.objects.all()
    received, distinct = len(receiver.received), len(receiver.processed)
    lost = EVENTS - distinct
    duplicated = sum(count - 1 for count in receiver.processed.values())
    summary = (
        f"FAULT webhook_worker_kill: faults=1 requests={received} served_2xx={receiver.served_2xx} "
        f"stored={distinct} lost={lost} duplicated={duplicated} deliveries_received={received} "
        f"distinct_ids_processed={distinct} undelivered_rows={undelivered.count()} "
        f"seconds={BUDGET_SECONDS - (deadline - time.monotonic()):.1f}"
    )
    print(f"\n{summary}")  # noqa: T201 - the fault suite's summary line (pytest -s)
    assert deliveries.count() == EVENTS
    assert undelivered.count() == 0, "deliveries not recorded as delivered within the time budget"
    assert distinct == EVENTS and lost == 0 and duplicated == 0
    assert receiver.received.count(held) == 2  # sent by the victim, then again after the kill
    assert set(receiver.received) == {d.event.public_id for d in deliveries.select_related("event")}
