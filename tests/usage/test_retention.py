"""Retention: old usage partitions are detached and dropped, old drift rows deleted — never
the current or future months, never the default partition; horizons come from settings."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from tests.usage.conftest import libpq_url
from usage import partitions
from usage.models import QuotaDrift
from usage.tasks import usage_partitions_prune, usage_quota_drift_prune

ROOT = Path(__file__).resolve().parents[2]


def _month(offset: int) -> datetime:
    """First instant of the month ``offset`` months from the current one (UTC)."""
    return partitions.month_shift(partitions.month_start(datetime.now(UTC)), offset)


def _attached() -> set[str]:
    return partitions.partitions_existing()


def _tables() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname FROM pg_class WHERE relname LIKE 'usage\\_event\\_%%' AND relkind IN ('r', 'p')")
        return {row[0] for row in cursor.fetchall()}


def test_partitions_older_than_the_horizon_are_dropped_and_recent_ones_kept(db, settings):
    settings.USAGE_RETENTION_MONTHS = 13
    months = {offset: partitions.partition_ensure(month=_month(offset)) for offset in (-40, -15, -14, -13, -1, 0, 1, 2)}
    with connection.cursor() as cursor:  # detached by a run that died before its DROP
        cursor.execute(f"CREATE TABLE {partitions.partition_name(_month(-50))} (LIKE usage_event)")

    dropped = usage_partitions_prune()

    tables = _tables()
    assert {months[-40], months[-15], months[-14], partitions.partition_name(_month(-50))} <= set(dropped)
    assert not {months[-40], months[-15], months[-14], partitions.partition_name(_month(-50))} & tables
    kept = {months[offset] for offset in (-13, -1, 0, 1, 2)}
    assert kept <= _attached()  # 13 whole months before this one, this one and the future
    assert partitions.DEFAULT in _attached()


def test_the_horizon_is_configurable_and_zero_keeps_everything(db, settings):
    old, recent, current = (partitions.partition_ensure(month=_month(offset)) for offset in (-3, -2, 0))

    settings.USAGE_RETENTION_MONTHS = 0
    assert usage_partitions_prune() == []
    settings.USAGE_RETENTION_MONTHS = 2
    assert old in usage_partitions_prune()

    assert old not in _tables() and {recent, current} <= _attached()


@pytest.mark.django_db(transaction=True)
def test_a_busy_parent_table_postpones_the_prune_instead_of_queueing_behind_it(settings):
    settings.USAGE_RETENTION_MONTHS = 13
    old = partitions.partition_ensure(month=_month(-30))
    reader = psycopg.connect(libpq_url())  # e.g. a long ledger export
    reader.execute("SELECT count(*) FROM usage_event")
    try:
        assert partitions.partitions_prune(now=datetime.now(UTC), keep_months=13, lock_timeout_ms=100) == []
        assert old in _attached()
    finally:
        reader.rollback()
        reader.close()
    assert old in partitions.partitions_prune(now=datetime.now(UTC), keep_months=13)
    assert old not in _tables()


def test_quota_drift_rows_older_than_their_horizon_are_deleted(db, org, settings):
    now = datetime.now(UTC)
    for days in (400, 91, 89, 1):
        QuotaDrift.objects.create(
            organization=org, period_start=now, redis_count=1, db_count=1, checked_at=now - timedelta(days=days)
        )

    settings.USAGE_QUOTA_DRIFT_RETENTION_DAYS = 0
    assert usage_quota_drift_prune() == 0
    settings.USAGE_QUOTA_DRIFT_RETENTION_DAYS = 90
    assert usage_quota_drift_prune() == 2

    assert sorted((now - d.checked_at).days for d in QuotaDrift.objects.all()) == [1, 89]


def test_retention_shorter_than_two_months_is_refused_at_start():
    env = {**os.environ, "USAGE_RETENTION_MONTHS": "1", "DJANGO_SETTINGS_MODULE": "portal.settings"}
    run = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode != 0
    assert "USAGE_RETENTION_MONTHS" in run.stderr


def test_retention_runs_daily_on_beat(settings):
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"usage.tasks.usage_partitions_prune", "usage.tasks.usage_quota_drift_prune"} <= tasks
