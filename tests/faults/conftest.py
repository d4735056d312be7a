"""Fault tests: each one breaks a dependency on purpose under real traffic, bounded in time, and
prints one ``FAULT <name>: …`` summary line (docs/reliability.md records the figures). Tests that
stop or pause a server start their own throwaway ones on free loopback ports, never the shared
PostgreSQL/Redis. Helpers live in modules named per area (``_postgres.py``, ``_billing.py``, …)."""
