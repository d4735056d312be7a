"""URLconf for the Sentry test: the real one plus a view that fails with a key in hand."""

from __future__ import annotations

from django.urls import path

from portal.urls import urlpatterns as real_urlpatterns


def fails_with_a_key(request):
    key = request.headers["X-Api-Key"]
    raise RuntimeError(f"upstream refused {key}")


urlpatterns = [path("obs-boom/", fails_with_a_key), *real_urlpatterns]
