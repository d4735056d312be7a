"""Fault tests: each starts its own throwaway servers on free loopback ports (never the shared
PostgreSQL/Redis), injects a fault under real traffic and prints one ``FAULT …`` summary line.
Shared helpers live in modules of their own (``_redis.py``, …)."""
