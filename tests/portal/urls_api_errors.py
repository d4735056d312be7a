"""URLconf for the API error tests: the real one plus API views that fail unexpectedly."""

from __future__ import annotations

from django.urls import path

from portal.urls import urlpatterns as real_urlpatterns


def api_boom(request):
    raise RuntimeError("boom")


handler404 = "portal.views.page_not_found"
handler500 = "portal.views.server_error"
urlpatterns = [path("api/boom/", api_boom), path("v1/boom", api_boom), *real_urlpatterns]
