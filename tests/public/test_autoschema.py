"""Schema-quality fixes every area relies on: nested serializer names, nullable read-only
fields, and problem+json 404s for unrouted API URLs."""

from __future__ import annotations

import pytest
from rest_framework import serializers

from plans.models import Plan
from public.autoschema import TollgateAutoSchema, field_is_nullable_in_model


class KeyCreateApi:
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField()


class KeyRotateApi:
    class InputSerializer(serializers.Serializer):
        overlap = serializers.IntegerField()


def test_nested_input_serializers_get_distinct_component_names():
    schema = TollgateAutoSchema()
    assert schema.get_serializer_name(KeyCreateApi.InputSerializer(), "request") == "KeyCreateInput"
    assert schema.get_serializer_name(KeyRotateApi.InputSerializer(), "request") == "KeyRotateInput"


def test_top_level_serializers_keep_their_name():
    class Plain(serializers.Serializer):
        x = serializers.IntegerField()

    Plain.__qualname__ = "Plain"
    assert TollgateAutoSchema().get_serializer_name(Plain(), "response") == "Plain"


def test_read_only_field_over_a_nullable_column_is_nullable():
    class PlanOutput(serializers.ModelSerializer):
        organization = serializers.PrimaryKeyRelatedField(read_only=True)  # null=True column
        code = serializers.CharField(read_only=True)  # NOT NULL column

        class Meta:
            model = Plan
            fields = ["organization", "code"]

    fields = PlanOutput().fields
    assert field_is_nullable_in_model(fields["organization"]) is True
    assert field_is_nullable_in_model(fields["code"]) is False
    schema = TollgateAutoSchema()
    assert schema._get_serializer_field_meta(fields["organization"], "response").get("nullable") is True
    assert "nullable" not in schema._get_serializer_field_meta(fields["code"], "response")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url,slug",
    [("/api/keys/-5/", "not-found"), ("/v1/definitely-not-routed", "no-route"), ("/api/nothing/here/", "not-found")],
)
def test_unrouted_api_urls_answer_problem_json(client, url, slug):
    response = client.get(url)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["type"].endswith(f"/docs/problems/#{slug}")


@pytest.mark.django_db
def test_unrouted_pages_keep_the_html_404(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")
