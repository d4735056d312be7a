"""The compiled router: precedence, trailing slashes, escapes, and cost independent of size."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from products.router import Route, Router


def route(template: str, method: str = "GET", *, base_path: str = "/v1/shop", operation_id: str = "") -> Route:
    return Route(
        product_id=1,
        product_slug=base_path.rsplit("/", 1)[-1],
        base_path=base_path,
        upstream_url="https://upstream.example",
        upstream_auth_header="",
        upstream_auth_secret="",
        connect_timeout_s=5.0,
        read_timeout_s=30.0,
        max_request_bytes=1024,
        max_response_bytes=1024,
        private=False,
        organization_ids=frozenset(),
        plan_codes=frozenset(),
        operation_id=operation_id or f"{method} {template}",
        method=method,
        path_template=template,
        meter=None,
        unit_rule="free",
        units_fixed=1,
        unit_source="",
        unit_pointer=(),
        max_units=1,
        required_scope="s",
        path_params={},
    )


@pytest.fixture
def router() -> Router:
    return Router(
        [
            route("/users/me"),
            route("/users/{id}"),
            route("/users/{id}", "DELETE"),
            route("/users/{id}/keys"),
            route("/users/me/settings"),
            route("/files/{name}.json"),
            route("/files/{name}"),
            route("/archives/{name}.tar.gz"),
            route("/archives/{name}.gz"),
            route("/folders/"),
            route("/Accounts/{AccountSid}/Messages/{Sid}.json"),
            route("/messages", "POST"),
            route("/status", base_path="/v1/other"),
        ]
    )


def test_literal_segment_beats_a_parameter(router):
    assert router.match("GET", "/v1/shop/users/me").path_template == "/users/me"
    found = router.match("GET", "/v1/shop/users/42")
    assert found.path_template == "/users/{id}" and found.path_params == {"id": "42"}


def test_a_literal_branch_that_cannot_finish_falls_back_to_the_parameter(router):
    found = router.match("GET", "/v1/shop/users/me/keys")
    assert found.path_template == "/users/{id}/keys" and found.path_params == {"id": "me"}
    assert router.match("DELETE", "/v1/shop/users/me").path_template == "/users/{id}"


def test_pattern_segments_beat_bare_parameters_and_longer_literals_win(router):
    assert router.match("GET", "/v1/shop/files/report.json").path_params == {"name": "report"}
    assert router.match("GET", "/v1/shop/files/report.json").path_template == "/files/{name}.json"
    assert router.match("GET", "/v1/shop/files/report.csv").path_template == "/files/{name}"
    assert router.match("GET", "/v1/shop/archives/a.tar.gz").path_params == {"name": "a"}
    twilio = router.match("GET", "/v1/shop/Accounts/AC1/Messages/SM2.json")
    assert twilio.path_params == {"AccountSid": "AC1", "Sid": "SM2"}


def test_trailing_slash_is_significant(router):
    assert router.match("GET", "/v1/shop/users/me/") is None
    assert router.match("GET", "/v1/shop/folders/").path_template == "/folders/"
    assert router.match("GET", "/v1/shop/folders") is None
    assert router.match("GET", "/v1/shop/users//keys") is None  # an empty segment is not a parameter


def test_method_is_part_of_the_match_and_methods_for_lists_the_allowed_ones(router):
    assert router.match("POST", "/v1/shop/users/me") is None
    assert router.match("post", "/v1/shop/messages").operation_id == "POST /messages"
    assert router.methods_for("/v1/shop/users/me") == {"GET", "DELETE"}
    assert router.methods_for("/v1/shop/nothing") == frozenset()


def test_products_are_separated_by_base_path(router):
    assert router.match("GET", "/v1/other/status").product_slug == "other"
    assert router.match("GET", "/v1/shop/status") is None
    assert router.match("GET", "/v1/other/users/me") is None


def test_parameters_stay_percent_encoded_and_unreserved_escapes_are_normalized(router):
    assert router.match("GET", "/v1/shop/users/a%2Fb").path_params == {"id": "a%2Fb"}
    assert router.match("GET", "/v1/shop/users/a%3fb%23c").path_params == {"id": "a%3Fb%23c"}
    assert router.match("GET", "/v1/shop/%75sers/me").path_template == "/users/me"  # %75 is "u"
    assert router.match("GET", "/v1/shop/users/%7Ejo").path_params == {"id": "~jo"}


@pytest.mark.parametrize(
    "path",
    [
        "/v1/shop/users/..",
        "/v1/shop/users/%2e%2e",
        "/v1/shop/users/%2E%2e/keys",
        "/v1/shop/users/.",
        "/v1/shop/../other/status",
        "/v1/other/%2e%2e/shop/users/me",
        "v1/shop/users/me",
    ],
)
def test_dot_segments_in_any_spelling_are_never_routed(router, path):
    assert router.match("GET", path) is None


def test_routes_keep_every_field_and_hide_the_secret_from_repr():
    router = Router([replace(route("/x"), upstream_auth_secret="sk_live_hidden")])
    found = router.match("GET", "/v1/shop/x")
    assert found is not None and found.upstream_auth_secret == "sk_live_hidden"
    assert "sk_live_hidden" not in repr(found)
    assert router.operation("shop", "GET /x") is not None


def test_lookup_cost_does_not_grow_with_the_catalogue():
    def build(products: int) -> Router:
        routes = []
        for p in range(products):
            for i in range(100):
                routes.append(route(f"/r{i}/{{id}}/items/{{item}}", base_path=f"/v1/p{p}"))
                routes.append(route(f"/r{i}/{{id}}", "POST", base_path=f"/v1/p{p}"))
        return Router(routes)

    small, large = build(1), build(30)  # 200 vs 6,000 operations
    deep = large.match("GET", "/v1/p29/r99/7/items/8")
    assert large.size == 6000 and deep is not None and deep.path_params == {"id": "7", "item": "8"}

    def cost(router: Router, path: str) -> float:
        best = float("inf")
        for _ in range(5):
            started = time.perf_counter()
            for _ in range(2000):
                router.match("GET", path)
            best = min(best, time.perf_counter() - started)
        return best

    # Generous: the two must be of the same order, not within a few percent (shared CI cores).
    assert cost(large, "/v1/p29/r99/7/items/8") < 3 * cost(small, "/v1/p0/r99/7/items/8")
