"""Which PostgreSQL errors mean "this event is bad" and which mean "try again later".

The consumer dead-letters an event only when PostgreSQL refuses *that row* for its content;
every other database error — connection lost or refused, failover, administrator shutdown,
deadlock, serialization failure, statement or lock timeout, a missing table during a deploy —
says nothing about the events, so their entries stay pending and are retried. Erring towards
"retry" is deliberate: a retry costs time, a wrong dead letter costs a served call that is
never invoiced.
"""

from __future__ import annotations

import psycopg

# SQLSTATE classes of errors caused by the values written: 22 data exception (bad text for
# a number, out of range, NUL in text), 23 integrity constraint violation (CHECK, NOT NULL).
_CONTENT_CLASSES = ("22", "23")
UNIQUE_VIOLATION = "23505"  # a redelivered event: deduplicated, never a refusal


def _psycopg_error(exc: BaseException) -> psycopg.Error | None:
    """The driver's error behind Django's wrapper (``django.db.utils.*`` keep it as the cause)."""
    while exc is not None:
        if isinstance(exc, psycopg.Error):
            return exc
        exc = exc.__cause__
    return None


def is_duplicate(exc: BaseException) -> bool:
    error = _psycopg_error(exc)
    return error is not None and error.sqlstate == UNIQUE_VIOLATION


def refused_for_content(exc: BaseException) -> bool:
    """True only when PostgreSQL (or the driver, adapting a value) refuses the rows themselves."""
    error = _psycopg_error(exc)
    if error is None:
        return False
    if error.sqlstate is None:
        # Raised by the driver before anything reached the server: a value it cannot adapt
        # ("cannot adapt type 'dict'", NUL in text). Connection trouble without a server
        # answer is an OperationalError / InterfaceError and is retried.
        return isinstance(error, (psycopg.ProgrammingError, psycopg.DataError))
    return error.sqlstate[:2] in _CONTENT_CLASSES and error.sqlstate != UNIQUE_VIOLATION
