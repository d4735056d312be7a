"""A local test double for Stripe and Paystack that speaks their wire protocols.

* ``transport``: a ``stripe.HTTPClient`` and an ``httpx`` transport that route the SDK's /
  httpx's real requests (form-encoded v1, JSON v2, Paystack JSON) to the in-process handlers.
* ``stripe_api`` / ``paystack_api``: the handlers, answering with the official object shapes
  (``stripe_shapes.json`` from Stripe's fixtures3.json, ``paystack_shapes.json`` from Paystack's
  documented responses) and keeping state in ``sandbox.SandboxObject``.
* ``actions``: what a tester does on the hosted pages (``views``: pay with a test card from
  ``cards``, pass 3-D Secure, simulate a failed renewal); ``emit`` signs and sends the
  webhooks that follow (``tasks``).
* ``config``: whether a provider runs on the sandbox (no secret key) and its sandbox keys.

The sandbox imports nothing from the apps it stands in front of: billing picks it.
"""
