"""Development tooling: the `make run` supervisor and the embedded PostgreSQL/Redis.

A plain package, not a Django app: it runs before settings can be loaded.
"""
