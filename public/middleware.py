"""API paths answer errors in problem+json even when no view was reached.

A URL that does not resolve (``/api/keys/-5/`` against ``<int:key_id>``) is answered by
Django's 404 handler with the HTML page; for ``/api/…`` and ``/v1/…`` clients expect the same
RFC 9457 body as every other API error (and the OpenAPI document promises it).
"""

from __future__ import annotations

from portal.problems import PROBLEM_CONTENT_TYPE, problem_body, problem_http_response

API_PREFIXES = ("/api/", "/v1/")


class ApiProblemNotFoundMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code == 404
            and request.path.startswith(API_PREFIXES)
            and not response.get("Content-Type", "").startswith((PROBLEM_CONTENT_TYPE, "application/json"))
        ):
            return problem_http_response(problem_body("not-found", f"No API resource at {request.path}."))
        return response
