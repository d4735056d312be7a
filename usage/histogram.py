"""Fixed log-scale latency buckets: mergeable by element-wise addition.

Bucket ``i`` (0-based, as stored in ``UsageRollup.latency_hist``) counts latencies in
``[BOUNDS[i-1], BOUNDS[i])`` — bucket 0 is everything below ``BOUNDS[0]``, the last bucket is
everything at or above ``BOUNDS[-1]``. This is exactly PostgreSQL's ``width_bucket(x, BOUNDS)``,
so SQL and Python agree. Bounds grow by 25 %, so a percentile read from the buckets is within
±12.5 % of the true value (we report the bucket's geometric middle).
"""

from __future__ import annotations

import math

RATIO = 1.25
BOUNDS: tuple[float, ...] = tuple(round(0.5 * RATIO**i, 3) for i in range(52))  # 0.5 ms … ~50 s
N_BUCKETS = len(BOUNDS) + 1


def bucket_of(latency_ms: float) -> int:
    """Python twin of ``width_bucket(latency_ms, BOUNDS)``."""
    lo, hi = 0, len(BOUNDS)
    while lo < hi:
        mid = (lo + hi) // 2
        if latency_ms >= BOUNDS[mid]:
            lo = mid + 1
        else:
            hi = mid
    return lo


def merge(*hists: list[int]) -> list[int]:
    out = [0] * N_BUCKETS
    for hist in hists:
        for i, count in enumerate(hist or ()):
            out[i] += count
    return out


def percentile(hist: list[int], q: float) -> float | None:
    """The q-quantile (0 < q <= 1) estimated from bucket counts; None when empty."""
    total = sum(hist or ())
    if not total:
        return None
    rank = math.ceil(q * total)
    seen = 0
    for i, count in enumerate(hist):
        seen += count
        if seen >= rank:
            if i == 0:
                return BOUNDS[0]
            if i >= len(BOUNDS):
                return BOUNDS[-1]
            return round(math.sqrt(BOUNDS[i - 1] * BOUNDS[i]), 2)
    return BOUNDS[-1]


def sql_bounds_literal() -> str:
    return "ARRAY[" + ",".join(repr(b) for b in BOUNDS) + "]::double precision[]"
