"""With a read replica configured the usage API reads the rollups through the ``replica`` alias
(here: a second connection to the test database, as ``TEST: {"MIRROR": "default"}`` arranges
for a real ``DATABASE_REPLICA_URL``); without one it reads the primary."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.postgresql.base import DatabaseWrapper
from django.test.utils import CaptureQueriesContext

from portal.db import REPLICA, read_alias
from tests.usage.conftest import admit, ingest, make_event


@pytest.fixture
def replica(monkeypatch):
    """The ``replica`` alias pointing at the test database, as the settings build it from
    DATABASE_REPLICA_URL (pooled, mirrored in tests)."""
    config = {**connections.settings[DEFAULT_DB_ALIAS], "TEST": {"MIRROR": DEFAULT_DB_ALIAS}}
    monkeypatch.setitem(settings.DATABASES, REPLICA, config)
    connections.settings[REPLICA] = config
    # Django's test case allows only the aliases it knew at its start to connect on their own;
    # this one connects now (the test client keeps connections open between requests).
    connections[REPLICA].connect()
    yield REPLICA
    wrapper = connections[REPLICA]
    assert isinstance(wrapper, DatabaseWrapper)
    wrapper.close()
    wrapper.close_pool()
    del connections[REPLICA]
    del connections.settings[REPLICA]


def test_without_a_replica_reads_use_the_primary():
    assert REPLICA not in settings.DATABASES
    assert read_alias() == DEFAULT_DB_ALIAS


def test_the_primary_is_pooled_with_no_persistent_connections():
    primary = settings.DATABASES[DEFAULT_DB_ALIAS]
    assert primary["CONN_MAX_AGE"] == 0
    pool = dict(primary["OPTIONS"]["pool"])
    assert callable(pool.pop("reset"))
    assert pool == {
        "min_size": settings.DB_POOL_MIN,
        "max_size": settings.DB_POOL_MAX,
        "timeout": settings.DB_POOL_TIMEOUT,
    }
    wrapper = connections[DEFAULT_DB_ALIAS]
    assert isinstance(wrapper, DatabaseWrapper)
    assert wrapper.pool is not None


def test_a_session_setting_does_not_follow_a_pooled_connection_to_its_next_borrower():
    """``SET statement_timeout`` left behind by one borrower is reset when the connection returns."""
    wrapper = connections[DEFAULT_DB_ALIAS]
    assert isinstance(wrapper, DatabaseWrapper)
    pool = wrapper.pool
    with pool.connection() as conn:
        conn.execute("SET statement_timeout = '1234ms'")
        pid = conn.info.backend_pid
    for _ in range(pool.max_size):  # until the pool hands out that same connection again
        with pool.connection() as conn:
            if conn.info.backend_pid == pid:
                assert conn.execute("SHOW statement_timeout").fetchone()[0] == "0"
                return
    pytest.fail("the pool never handed the connection out again")


# Committed data: the replica is another connection, it cannot see the test's open transaction.
@pytest.mark.django_db(transaction=True)
def test_the_usage_api_reads_through_the_replica(replica, member_client, redis_client, org, free_plan):
    admit(org.pk, 3)
    ingest(redis_client, [make_event(org.pk, request_id=f"r{i}", key="tg_live_mine") for i in range(3)])
    assert read_alias() == REPLICA

    with (
        CaptureQueriesContext(connections[REPLICA]) as on_replica,
        CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as on_primary,
    ):
        body = member_client.get("/api/usage/", {"window": "24h", "group_by": "key"}).json()
    assert body["totals"]["requests"] == 3
    assert [row["group"] for row in body["breakdown"]] == ["tg_live_mine"]
    assert sum("usage_summary" in q["sql"] for q in on_replica.captured_queries) >= 2  # series + breakdown
    assert not any("usage_summary" in q["sql"] for q in on_primary.captured_queries)
