"""The real URLconf plus the sample API: docs tests get operations whose shape they control."""

from __future__ import annotations

from django.urls import path

from portal.urls import handler404, handler500  # noqa: F401
from portal.urls import urlpatterns as portal_urlpatterns
from tests.public.sample_api import SampleSendApi, SampleStatusApi

urlpatterns = [
    path("v1/sample/sms", SampleSendApi.as_view()),
    path("v1/sample/deliveries/<str:tracking_id>", SampleStatusApi.as_view()),
    *portal_urlpatterns,
]
