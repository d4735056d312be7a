"""Code samples generated from the OpenAPI document.

``operation_samples`` turns one operation into cURL, JavaScript (fetch), Python (httpx) and
PHP (curl) snippets, with example values from ``public.examples``. With ``api_key=None`` the
snippets read the key from the environment (the public schema never contains a key); the
signed-in docs pass the developer's test key.
"""

from __future__ import annotations

import json
import pprint
import re
import shlex
from typing import Any
from urllib.parse import quote, urlencode

from public.examples import example_for, resolve

KEY_ENV = "TOLLGATE_API_KEY"
GATEWAY_SCHEMES = ("ApiKeyHeader", "BearerKey", "BearerJWT")
LANGUAGES = (("curl", "Shell", "cURL"), ("javascript", "JavaScript", "JavaScript"), ("python", "Python", "Python"), ("php", "PHP", "PHP"))


def operation_request(*, spec: dict[str, Any], path: str, method: str, operation: dict[str, Any], base_url: str) -> dict[str, Any]:
    """The example request of an operation: url (path params filled), query, body, auth kind."""
    params = [resolve(p, spec) for p in operation.get("parameters", [])]
    url_path = path
    query: dict[str, Any] = {}
    for param in params:
        value = param.get("example")
        if value is None:
            value = example_for(param.get("schema", {}), spec, name=param.get("name", ""))
        if param.get("in") == "path":
            url_path = url_path.replace("{" + param["name"] + "}", quote(str(value), safe=""))
        elif param.get("in") == "query" and param.get("required"):
            query[param["name"]] = value
    body = None
    content_type = None
    request_body = resolve(operation.get("requestBody"), spec) if operation.get("requestBody") else None
    if request_body:
        content = request_body.get("content", {})
        content_type = "application/json" if "application/json" in content else next(iter(content), None)
        media = content.get(content_type or "", {})
        if "example" in media:
            body = media["example"]
        elif media.get("examples"):
            body = resolve(next(iter(media["examples"].values())), spec).get("value")
        else:
            body = example_for(media.get("schema", {}), spec)
    security = operation.get("security") or []
    names = [name for requirement in security for name in requirement]
    uses_key = any(name in GATEWAY_SCHEMES for name in names)
    # Another bearer scheme (e.g. an operator token): read it from its own environment variable.
    schemes = spec.get("components", {}).get("securitySchemes", {})
    other_bearer = next((n for n in names if schemes.get(n, {}).get("scheme") == "bearer"), None) if not uses_key else None
    bearer_env = "TOLLGATE_" + re.sub(r"(?<!^)(?=[A-Z])", "_", other_bearer).upper() if other_bearer else None
    url = base_url.rstrip("/") + url_path + (("?" + urlencode(query, doseq=True)) if query else "")
    return {"method": method.upper(), "url": url, "body": body, "content_type": content_type,
            "uses_key": uses_key, "bearer_env": bearer_env}


def _bearer(req: dict[str, Any], api_key: str | None) -> tuple[str | None, str | None]:
    """(literal token, environment variable) for the Authorization header, or (None, None) for
    session-authenticated operations. Only the API key is ever filled in literally."""
    if req["uses_key"]:
        return (api_key, None) if api_key else (None, KEY_ENV)
    if req.get("bearer_env"):
        return None, req["bearer_env"]
    return None, None


def operation_samples(
    *, spec: dict[str, Any], path: str, method: str, operation: dict[str, Any], base_url: str, api_key: str | None
) -> list[dict[str, str]]:
    """``x-codeSamples`` for one operation: cURL, JavaScript, Python, PHP."""
    req = operation_request(spec=spec, path=path, method=method, operation=operation, base_url=base_url)
    return [
        {"lang": lang, "label": label, "source": builder(req, api_key)}
        for (lang, label, _), builder in zip(LANGUAGES, (_curl, _javascript, _python, _php), strict=True)
    ]


def _curl(req: dict[str, Any], api_key: str | None) -> str:
    # -i prints the response headers too (RateLimit, Retry-After, X-Request-Id).
    lines = [f"curl -i -X {req['method']} {shlex.quote(req['url'])}"]
    prefix = ""
    literal, env = _bearer(req, api_key)
    if literal or env:
        lines.append(f'  -H "Authorization: Bearer {literal or "$" + env}"')
    else:
        prefix = "# Uses your signed-in portal session cookie.\n"
        lines.append('  -b "sessionid=$TOLLGATE_SESSION"')
    if req["body"] is not None:
        lines.append(f'  -H "Content-Type: {req["content_type"]}"')
        lines.append(f"  -d {shlex.quote(json.dumps(req['body'], indent=2))}")
    return prefix + " \\\n".join(lines)


def _javascript(req: dict[str, Any], api_key: str | None) -> str:
    headers = []
    literal, env = _bearer(req, api_key)
    if literal or env:
        token = json.dumps(f"Bearer {literal}") if literal else f"`Bearer ${{process.env.{env}}}`"
        headers.append(f'    "Authorization": {token},')
    if req["body"] is not None:
        headers.append(f'    "Content-Type": {json.dumps(req["content_type"])},')
    options = [f'  method: "{req["method"]}",']
    if not (literal or env):
        options.append('  credentials: "include", // a signed-in portal session')
    if headers:
        options.append("  headers: {\n" + "\n".join(headers) + "\n  },")
    if req["body"] is not None:
        body = json.dumps(req["body"], indent=2).replace("\n", "\n  ")
        options.append(f"  body: JSON.stringify({body}),")
    return (
        f"const response = await fetch({json.dumps(req['url'])}, {{\n" + "\n".join(options) + "\n});\n"
        'console.log(response.status, response.headers.get("RateLimit"));\n'
        "console.log(await response.json());"
    )


def _python(req: dict[str, Any], api_key: str | None) -> str:
    literal, env = _bearer(req, api_key)
    lines = ["import os" if env else "", "import httpx", ""]
    args = [f"    {json.dumps(req['method'])},", f"    {json.dumps(req['url'])},"]
    if literal or env:
        token = json.dumps(f"Bearer {literal}") if literal else f"f\"Bearer {{os.environ['{env}']}}\""
        args.append(f'    headers={{"Authorization": {token}}},')
    else:
        args.append('    cookies={"sessionid": "<your portal session>"},')
    if req["body"] is not None:
        body = pprint.pformat(req["body"], indent=4, width=88, sort_dicts=False).replace("\n", "\n    ")
        args.append(f"    json={body},")
    lines += ["response = httpx.request(", *args, ")", 'print(response.status_code, response.headers.get("RateLimit"))', "print(response.json())"]
    return "\n".join(lines).lstrip("\n")


def _php(req: dict[str, Any], api_key: str | None) -> str:
    headers = []
    literal, env = _bearer(req, api_key)
    if literal:
        headers.append(f'        "Authorization: Bearer {literal}",')
    elif env:
        headers.append(f'        "Authorization: Bearer " . getenv("{env}"),')
    else:
        headers.append('        "Cookie: sessionid=<your portal session>",')
    if req["body"] is not None:
        headers.append(f'        "Content-Type: {req["content_type"]}",')
    opts = [
        f'    CURLOPT_CUSTOMREQUEST => "{req["method"]}",',
        "    CURLOPT_RETURNTRANSFER => true,",
        "    CURLOPT_HEADER => true,",
        "    CURLOPT_HTTPHEADER => [\n" + "\n".join(headers) + "\n    ],",
    ]
    if req["body"] is not None:
        payload = json.dumps(req["body"]).replace("\\", "\\\\").replace("'", "\\'")
        opts.append(f"    CURLOPT_POSTFIELDS => '{payload}',")
    url = req["url"].replace("\\", "\\\\").replace("'", "\\'")
    return (
        "<?php\n"
        f"$ch = curl_init('{url}');\n"
        "curl_setopt_array($ch, [\n" + "\n".join(opts) + "\n]);\n"
        "$response = curl_exec($ch);\n"
        "$status = curl_getinfo($ch, CURLINFO_HTTP_CODE);\n"
        "curl_close($ch);\n"
        "echo $status, PHP_EOL, $response, PHP_EOL;"
    )
