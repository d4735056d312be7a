"""Helpers of the payment-provider fault test: a hard time limit and an audit that compares
what the sandbox providers hold (charges, refunds, subscriptions, plans) with our records."""

from __future__ import annotations

import contextlib
import faulthandler
import signal
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

from billing.models import Invoice
from plans.models import LIVE_STATUSES, Subscription
from sandbox import store


class TimeLimitExceeded(Exception):
    pass


@contextlib.contextmanager
def hard_time_limit(seconds: int) -> Iterator[None]:
    """Fail the test after ``seconds`` (SIGALRM), and kill the process with a traceback if
    even that does not get through (a hang in C code) 30 s later: no CI run can hang here."""

    def expire(signum, frame):
        raise TimeLimitExceeded(f"fault test exceeded its {seconds} s budget")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    faulthandler.dump_traceback_later(seconds + 30, exit=True)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        faulthandler.cancel_dump_traceback_later()


@dataclass
class Audit:
    charges: int = 0  # successful charges at the providers
    stored: int = 0  # of which granted (an invoice of ours) or fully refunded, exactly one of the two
    lost: list[str] = field(default_factory=list)  # money kept without a grant, or a grant without money
    duplicated: list[str] = field(default_factory=list)  # double charges, refunds, subscriptions, plans
    refunds: int = 0


def _granted() -> dict[tuple[str, str], int]:
    """Our invoices issued for a payment: (provider, payment reference) → amount invoiced."""
    rows = Invoice.objects.exclude(provider_reference="").values_list("provider", "provider_reference", "total_minor")
    return {(provider, ref): total for provider, ref, total in rows}


def provider_audit() -> Audit:
    audit, granted, matched = Audit(), _granted(), set()

    def settle(provider: str, charge_ref: str, amount: int, refunded: int, refs: set[str]) -> None:
        audit.charges += 1
        grant = {(provider, ref) for ref in refs} & set(granted)
        matched.update(grant)
        if refunded > amount:
            audit.duplicated.append(f"{provider} {charge_ref} refunded {refunded} > {amount}")
        if grant and sum(granted[key] for key in grant) != amount:
            audit.lost.append(f"{provider} {charge_ref}: charged {amount}, invoiced {[granted[k] for k in grant]}")
        if bool(grant) == (refunded >= amount) or 0 < refunded < amount:
            audit.lost.append(f"{provider} {charge_ref}: granted={sorted(grant)} refunded={refunded}/{amount}")
        else:
            audit.stored += 1

    refunded: defaultdict[str, int] = defaultdict(int)
    for refund in store.all_of("paystack", "refund"):
        refunded[refund["transaction_reference"]] += int(refund["amount"])
        audit.refunds += 1
    for tx in store.all_of("paystack", "transaction"):
        if tx["status"] == "success":
            settle("paystack", tx["reference"], int(tx["amount"]), refunded[tx["reference"]], {tx["reference"]})

    audit.refunds += len(store.all_of("stripe", "refund"))
    invoices = {
        inv["charge_sandbox"]: inv["id"] for inv in store.all_of("stripe", "invoice") if inv.get("charge_sandbox")
    }
    sessions = {s.get("invoice"): s["id"] for s in store.all_of("stripe", "checkout.session") if s.get("invoice")}
    charges_per_invoice = Counter(invoices.values())
    for charge in store.all_of("stripe", "charge"):
        invoice_id = invoices.get(charge["id"], "")
        refs = {invoice_id, sessions.get(invoice_id, "")} - {""}
        settle("stripe", charge["id"], charge["amount"], charge.get("amount_refunded", 0), refs)
    audit.duplicated += [f"stripe invoice {i} charged {n} times" for i, n in charges_per_invoice.items() if n > 1]

    audit.lost += [f"{p} {ref}: invoiced without a charge" for p, ref in set(granted) - matched]

    # Subscriptions: exactly the live ones we know of renew at the provider, one per customer.
    renewing = ("active", "non-renewing", "attention")
    live_remote = {
        ("paystack", s["subscription_code"]): s["customer"]["customer_code"]
        for s in store.all_of("paystack", "subscription")
        if s["status"] in renewing
    }
    live_remote |= {
        ("stripe", s["id"]): s["customer"]
        for s in store.all_of("stripe", "subscription")
        if s["status"] in ("active", "past_due") and not s["cancel_at_period_end"]
    }
    # Canceled at period end: access runs to the end of the paid period, nothing renews.
    live_local = set(
        Subscription.objects.filter(status__in=LIVE_STATUSES, cancel_at_period_end=False)
        .exclude(provider="")
        .values_list("provider", "provider_subscription_id")
    )
    audit.duplicated += [f"{c} has {n} live subscriptions" for c, n in Counter(live_remote.values()).items() if n > 1]
    audit.duplicated += [f"{p} {s} renews but is not ours" for p, s in set(live_remote) - live_local]
    audit.lost += [f"{p} {s} is live here but not at the provider" for p, s in live_local - set(live_remote)]
    plans = Counter((p["name"], p["amount"], p["currency"]) for p in store.all_of("paystack", "plan"))
    audit.duplicated += [f"paystack plan {k} created {n} times" for k, n in plans.items() if n > 1]
    return audit
