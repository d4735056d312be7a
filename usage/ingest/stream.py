"""The stream's consumer group and its upkeep: Redis keys, group creation, trimming what
every consumer has acknowledged, and the pipeline status the operator sees."""

from __future__ import annotations

import os
import socket

from usage.events import STREAM_KEY

GROUP = "usage-ingest"
DEAD_LETTER_KEY = f"{STREAM_KEY}:dead"
DIRTY_KEY = "usage:rollup:dirty"  # set of "org_id:epoch_hour" awaiting rollup
STATE_KEY = "usage:ingest:state"  # hash: visible consumer state (operator overview, --status)


def ensure_group(redis) -> None:
    try:
        # From the beginning ("0"), so events produced before the first consumer ran are kept.
        redis.xgroup_create(STREAM_KEY, GROUP, id="0", mkstream=True)
    except Exception as exc:  # BUSYGROUP: exists already
        if "BUSYGROUP" not in str(exc):
            raise


def consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def stream_trim(redis) -> int:
    """Trim acknowledged entries: keep everything from the oldest pending entry (or, with
    nothing pending, from the first undelivered one) onwards. Returns entries removed."""
    ensure_group(redis)
    groups = redis.xinfo_groups(STREAM_KEY)
    floor = None
    for group in groups:
        name = group["name"].decode() if isinstance(group["name"], bytes) else group["name"]
        pending = redis.xpending(STREAM_KEY, name)
        last = group["last-delivered-id"]
        last = last.decode() if isinstance(last, bytes) else last
        if pending["pending"]:
            candidate = pending["min"].decode() if isinstance(pending["min"], bytes) else pending["min"]
        else:
            ms, seq = (int(x) for x in last.split("-"))
            candidate = f"{ms}-{seq + 1}"
        floor = candidate if floor is None or _id_lt(candidate, floor) else floor
    # Forget consumers of restarted processes (nothing pending, silent for a day).
    for consumer in redis.xinfo_consumers(STREAM_KEY, GROUP):
        if not consumer["pending"] and consumer["idle"] > 86_400_000:
            redis.xgroup_delconsumer(STREAM_KEY, GROUP, consumer["name"])
    if floor is None:
        return 0
    return redis.xtrim(STREAM_KEY, minid=floor, approximate=False)


def _id_lt(a: str, b: str) -> bool:
    return tuple(int(x) for x in a.split("-")) < tuple(int(x) for x in b.split("-"))


def ingest_status(redis) -> dict:
    """What the operator sees: stream length, lag, pending, dead letters, last batch."""
    ensure_group(redis)
    info = {k.decode(): v.decode() for k, v in redis.hgetall(STATE_KEY).items()}
    group = next((g for g in redis.xinfo_groups(STREAM_KEY) if g["name"] in (GROUP, GROUP.encode())), {})
    info.update(
        {
            "stream_length": redis.xlen(STREAM_KEY),
            "pending": group.get("pending", 0),
            "lag": group.get("lag"),
            "consumers": group.get("consumers", 0),
            "dead_letters": redis.xlen(DEAD_LETTER_KEY),
            "dirty_slices": redis.scard(DIRTY_KEY),
        }
    )
    return info
