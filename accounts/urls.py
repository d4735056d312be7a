from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("orgs/", views.organization_list, name="organizations"),
]
