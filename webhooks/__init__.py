"""Outbound customer webhooks (Standard Webhooks): endpoints, events, signed deliveries.

Other apps call ``webhooks.events.customer_event_emit``; everything else here serves the
endpoint pages and API.
"""
