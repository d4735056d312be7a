"""URLconf for the error-page tests: the real one plus a view that fails."""

from __future__ import annotations

from django.urls import path

from portal.urls import urlpatterns as real_urlpatterns


def boom(request):
    raise RuntimeError("boom")


handler404 = "portal.views.page_not_found"
handler500 = "portal.views.server_error"
urlpatterns = [path("boom/", boom), *real_urlpatterns]
