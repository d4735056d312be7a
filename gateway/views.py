"""The unmetered twin of the gateway, for ``bench/bench_proxy.py`` only: the same routing,
upstream URL and pooled streaming client, without the credential, admission, units or usage
event. Mounted under ``/v1/_baseline/`` only when ``GATEWAY_BASELINE_ENABLED`` is on — never in
production (it would serve every product without a key)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt

from gateway.proxy_url import raw_path, upstream_url
from gateway.requests import request_id_of
from gateway.responses import RouteNotFound, problem_response
from gateway.upstream import STRIPPED_REQUEST, STRIPPED_RESPONSE, upstream_client
from portal.problems import Problem
from products.catalogue import acatalogue

BASELINE_PREFIX = "/v1/_baseline"


@csrf_exempt
async def gateway_call_unmetered(request: HttpRequest, path: str = "") -> HttpResponse:
    request_id = request_id_of(request)
    catalogue = await acatalogue()
    path = "/v1" + raw_path(request).removeprefix(BASELINE_PREFIX)  # /v1/_baseline/demo/… → /v1/demo/…
    route = catalogue.match(request.method or "GET", path)
    try:
        if route is None:
            raise RouteNotFound(f"No operation matches {request.method} {request.path}.")
        url = upstream_url(route, request.META.get("QUERY_STRING", ""))
    except Problem as problem:
        return problem_response(problem.as_dict(), request_id, {})
    headers = {name: value for name, value in request.headers.items() if name.lower() not in STRIPPED_REQUEST}
    headers["X-Request-Id"] = request_id
    client = upstream_client()
    upstream = await client.send(
        client.build_request(request.method or "GET", url, headers=headers, content=request.body or None), stream=True
    )

    async def relay():
        try:
            async for chunk in upstream.aiter_raw():
                yield chunk
        finally:
            await upstream.aclose()

    response = StreamingHttpResponse(relay(), status=upstream.status_code)
    for name, value in upstream.headers.multi_items():
        if name.lower() not in STRIPPED_RESPONSE:
            response[name] = value
    response["X-Request-Id"] = request_id
    return response
