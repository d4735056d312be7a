"""Ingest: the Redis stream of usage events → the partitioned ``usage_event`` table.

``consumer`` runs the pass (read or claim, write, acknowledge), ``rows`` turns stream entries
into ``COPY`` rows, ``writer`` writes them in one transaction, ``errors`` tells database
trouble (retry) from refused content (dead letter), ``deadletters`` lists and replays the
dead letters, and ``stream`` owns the consumer group, trimming and the pipeline status the
operator sees.
"""
