"""Errors produced by a real PostgreSQL: trouble is retried, only refused content is dead."""

from __future__ import annotations

import socket
import threading

import psycopg
import pytest
from django.db import connection

from tests.usage.conftest import libpq_url
from usage.ingest.errors import is_duplicate, refused_for_content

# Own connections to the test database; only the Django-connection case needs Django's access.
pytestmark = pytest.mark.usefixtures("django_db_setup")


def _error_of(action) -> BaseException:
    try:
        action()
    except Exception as exc:
        return exc
    raise AssertionError("no error raised")


@pytest.fixture
def table():
    with psycopg.connect(libpq_url(), autocommit=True) as conn:
        conn.execute("CREATE TABLE ingest_fault (id int PRIMARY KEY, n int CHECK (n >= 0))")
        conn.execute("INSERT INTO ingest_fault VALUES (1, 0), (2, 0)")
    yield
    with psycopg.connect(libpq_url(), autocommit=True) as conn:
        conn.execute("DROP TABLE ingest_fault")


def _deadlock():
    a, b = psycopg.connect(libpq_url()), psycopg.connect(libpq_url())
    errors = []
    try:
        for conn in (a, b):
            conn.execute("SET deadlock_timeout = '50ms'")
        a.execute("UPDATE ingest_fault SET n = 1 WHERE id = 1")
        b.execute("UPDATE ingest_fault SET n = 1 WHERE id = 2")

        def cross(conn, row):
            try:
                conn.execute("UPDATE ingest_fault SET n = 2 WHERE id = %s", [row])
            except psycopg.Error as exc:
                errors.append(exc)
                conn.rollback()

        thread = threading.Thread(target=cross, args=(a, 2))
        thread.start()
        cross(b, 1)
        thread.join(timeout=10)
    finally:
        a.close()
        b.close()
    raise errors[0]


def _serialization_failure():
    with psycopg.connect(libpq_url()) as a, psycopg.connect(libpq_url(), autocommit=True) as b:
        a.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        a.execute("SELECT n FROM ingest_fault WHERE id = 1")
        b.execute("UPDATE ingest_fault SET n = 5 WHERE id = 1")
        a.execute("UPDATE ingest_fault SET n = 6 WHERE id = 1")


def _terminated():
    with psycopg.connect(libpq_url()) as victim, psycopg.connect(libpq_url(), autocommit=True) as admin:
        pid = victim.execute("SELECT pg_backend_pid()").fetchone()[0]
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        victim.execute("SELECT 1")


def _terminated_under_django():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    with psycopg.connect(libpq_url(), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        connection.close()


def _could_not_connect():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    psycopg.connect(f"postgres://postgres@127.0.0.1:{port}/x", connect_timeout=2)


def _statement_timeout():
    with psycopg.connect(libpq_url()) as conn:
        conn.execute("SET statement_timeout = '20ms'")
        conn.execute("SELECT pg_sleep(1)")


def _lock_timeout():
    with psycopg.connect(libpq_url()) as holder, psycopg.connect(libpq_url()) as waiter:
        holder.execute("LOCK TABLE ingest_fault IN ACCESS EXCLUSIVE MODE")
        waiter.execute("SET lock_timeout = '20ms'")
        waiter.execute("SELECT * FROM ingest_fault")


def _run(sql: str, *params):
    def action():
        with psycopg.connect(libpq_url()) as conn:
            conn.execute(sql, params or None)

    return action


@pytest.mark.parametrize(
    "fault",
    [
        _deadlock,
        _serialization_failure,
        _terminated,
        _could_not_connect,
        _statement_timeout,
        _lock_timeout,
        _run("SELECT * FROM no_such_table"),
        pytest.param(_terminated_under_django, marks=pytest.mark.django_db(transaction=True)),
    ],
    ids=lambda f: f.__name__.strip("_"),
)
def test_database_trouble_is_retried_never_dead_lettered(table, fault):
    error = _error_of(fault)
    assert not refused_for_content(error), repr(error)
    assert not is_duplicate(error)


@pytest.mark.parametrize(
    "fault",
    [
        _run("INSERT INTO ingest_fault VALUES (3, -1)"),  # CHECK
        _run("INSERT INTO ingest_fault VALUES (3, %s)", "many"),  # not a number
        _run("INSERT INTO ingest_fault VALUES (3, %s)", 2**40),  # out of range
        _run("INSERT INTO ingest_fault VALUES (NULL, 1)"),  # NOT NULL
        _run("INSERT INTO ingest_fault VALUES (3, %s)", {"a": 1}),  # the driver cannot adapt it
    ],
    ids=["check", "not-a-number", "out-of-range", "not-null", "cannot-adapt"],
)
def test_content_postgres_refuses_is_dead_lettered(table, fault):
    assert refused_for_content(_error_of(fault))


def test_a_duplicate_is_neither_trouble_nor_a_refusal(table):
    error = _error_of(_run("INSERT INTO ingest_fault VALUES (1, 1)"))
    assert is_duplicate(error) and not refused_for_content(error)
