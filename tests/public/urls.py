"""The real URLconf plus the sample API: docs tests get operations whose shape they control."""

from django.urls import path

from portal.urls import handler404, handler500, urlpatterns as portal_urlpatterns  # noqa: F401
from tests.public.sample_api import SampleSendApi, SampleStatusApi

urlpatterns = [
    path("v1/sample/sms", SampleSendApi.as_view()),
    path("v1/sample/deliveries/<str:tracking_id>", SampleStatusApi.as_view()),
    *portal_urlpatterns,
]
