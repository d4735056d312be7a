from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

django_application = get_asgi_application()

from django.conf import settings  # noqa: E402 - after Django is set up

from gateway.asgi import GatewayFastLane  # noqa: E402 - imports models: after Django is set up
from portal.observability import asgi_traced  # noqa: E402

# API product calls skip the middleware stack (gateway/asgi.py); everything else is Django's.
# With tracing on, every request (fast lane included) gets a span (portal/observability.py).
application = asgi_traced(GatewayFastLane(django_application, baseline=settings.GATEWAY_BASELINE_ENABLED))
