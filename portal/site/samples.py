"""Example values and code samples, generated from the OpenAPI document.

``example_for`` builds a plausible value from a JSON schema (declared examples first);
``operation_samples`` turns one operation into cURL, JavaScript (fetch), Python (httpx) and
PHP (curl) snippets. With ``api_key=None`` the snippets read the key from the environment
(the public schema never contains a key); the signed-in docs pass the developer's test key.
"""

from __future__ import annotations

import json
import pprint
import re
import shlex
from typing import Any
from urllib.parse import quote, urlencode

KEY_ENV = "TOLLGATE_API_KEY"
GATEWAY_SCHEMES = ("ApiKeyHeader", "BearerKey", "BearerJWT")
LANGUAGES = (("curl", "Shell", "cURL"), ("javascript", "JavaScript", "JavaScript"), ("python", "Python", "Python"), ("php", "PHP", "PHP"))

# Readable values for common field names, so samples look like real calls.
_NAMED_STRINGS = {
    "to": "+2348012345678",
    "phone": "+2348012345678",
    "msisdn": "+2348012345678",
    "sender": "Tollgate",
    "message": "Your verification code is 481516",
    "text": "Your verification code is 481516",
    "body": "Your verification code is 481516",
    "prompt": "Write a one-line haiku about APIs.",
    "model": "tg-small",
    "name": "Production server",
    "email": "dev@example.com",
    "currency": "NGN",
    "url": "https://example.com/webhooks/tollgate",
    "tracking_id": "trk_01JABCDEF",
}


def resolve(schema: Any, spec: dict[str, Any]) -> Any:
    """Follow a local ``$ref`` (``#/components/...``) to its target."""
    seen = 0
    while isinstance(schema, dict) and "$ref" in schema and seen < 20:
        target: Any = spec
        for part in schema["$ref"].lstrip("#/").split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        schema = target
        seen += 1
    return schema


def example_for(schema: Any, spec: dict[str, Any], *, name: str = "", depth: int = 0) -> Any:
    """A plausible example value for ``schema``; declared examples win."""
    schema = resolve(schema, spec)
    if not isinstance(schema, dict) or depth > 8:
        return None
    for key in ("example", "default", "const"):
        if key in schema:
            return schema[key]
    if schema.get("examples") and isinstance(schema["examples"], list):
        return schema["examples"][0]
    if schema.get("enum"):
        return next((v for v in schema["enum"] if v is not None), schema["enum"][0])
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            value = example_for(part, spec, name=name, depth=depth + 1)
            if isinstance(value, dict):
                merged.update(value)
            elif value is not None:
                return value
        return merged
    for key in ("oneOf", "anyOf"):
        if key in schema:
            options = [s for s in schema[key] if resolve(s, spec).get("type") != "null"] or schema[key]
            return example_for(options[0], spec, name=name, depth=depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {
            prop: example_for(sub, spec, name=prop, depth=depth + 1)
            for prop, sub in props.items()
            if not resolve(sub, spec).get("readOnly")
        }
    if kind == "array":
        item = example_for(schema.get("items", {}), spec, name=name, depth=depth + 1)
        return [] if item is None else [item]
    if kind == "integer":
        low = schema.get("minimum", 1)
        return max(int(low), 1) if schema.get("maximum", 10**9) >= 1 else int(low)
    if kind == "number":
        return float(schema.get("minimum", 1.5) or 1.5)
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return _string_example(schema, name)


def _from_pattern(pattern: str) -> str | None:
    """The shortest string matching a simple regular expression (literals, classes, \\d, \\w,
    quantifiers); None for anything fancier (alternation, groups, look-arounds)."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch in "^$":
            i += 1
            continue
        if ch in "()|":
            return None
        if ch == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                return None
            body = pattern[i + 1:end]
            if body.startswith("^"):
                atom = "x" if "x" not in body else "y"
            elif body.startswith("\\d") or body[:1].isdigit():
                atom = "1" if "1-9" in body else body[0] if body[0].isdigit() else "0"
            else:
                atom = body[0] if body[0] != "\\" else body[1:2]
            i = end + 1
        elif ch == "\\" and i + 1 < n:
            atom = {"d": "1", "w": "a", "s": " "}.get(pattern[i + 1], pattern[i + 1])
            i += 2
        elif ch == ".":
            atom, i = "a", i + 1
        else:
            atom, i = ch, i + 1
        count = 1
        if i < n and pattern[i] == "{":
            end = pattern.find("}", i)
            low = pattern[i + 1:end].split(",")[0]
            count = int(low) if low.isdigit() else 1
            i = end + 1
        elif i < n and pattern[i] in "*?":
            count, i = 0, i + 1
        elif i < n and pattern[i] == "+":
            i += 1
        out.append(atom * count)
    return "".join(out)


def _string_example(schema: dict[str, Any], name: str) -> str:
    fmt = schema.get("format", "")
    by_format = {
        "email": "dev@example.com",
        "uri": "https://example.com/webhooks/tollgate",
        "url": "https://example.com",
        "date-time": "2026-01-15T09:30:00Z",
        "date": "2026-01-15",
        "uuid": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
        "decimal": "10.00",
    }
    if fmt in by_format:
        return by_format[fmt]
    value = _NAMED_STRINGS.get(name.lower(), "string" if not name else f"example-{name}")
    pattern = schema.get("pattern")
    if pattern:
        try:
            matches = re.search(pattern, value) is not None
        except re.error:
            matches = True
        if not matches:
            return _from_pattern(pattern) or value
    max_length = schema.get("maxLength")
    if max_length:
        value = value[:max_length]
    min_length = schema.get("minLength", 0)
    if len(value) < min_length:
        value = value + "x" * (min_length - len(value))
    return value


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
