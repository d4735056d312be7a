"""Code samples generated from the OpenAPI document.

``operation_samples`` turns one operation into cURL, JavaScript (fetch), Python (httpx) and
PHP (curl) snippets from its example request (``public.sample_request``), with example values
from ``public.examples``. With ``api_key=None`` the snippets read the key from the environment
(the public schema never contains a key); the signed-in docs pass the developer's test key.

Bodies are sent the way the operation declares them: JSON, a form (``x-www-form-urlencoded``,
a repeated field for each item of a list, as Twilio's ``To`` recipients), multipart form data,
or raw text.
"""

from __future__ import annotations

import json
import pprint
import shlex
from typing import Any
from urllib.parse import urlencode

from public.sample_request import form_fields, operation_request, text_body

KEY_ENV = "TOLLGATE_API_KEY"
LANGUAGES = (
    ("curl", "Shell", "cURL"),
    ("javascript", "JavaScript", "JavaScript"),
    ("python", "Python", "Python"),
    ("php", "PHP", "PHP"),
)


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
    lines += [f"  -H {shlex.quote(f'{name}: {value}')}" for name, value in req["headers"]]
    kind = req["body_kind"]
    if kind == "multipart":  # curl writes the Content-Type with its boundary itself
        lines += [f"  --form-string {shlex.quote(f'{name}={value}')}" for name, value in form_fields(req["body"])]
    elif kind:
        lines.append(f'  -H "Content-Type: {req["content_type"]}"')
    if kind == "form":
        lines += [f"  --data-urlencode {shlex.quote(f'{name}={value}')}" for name, value in form_fields(req["body"])]
    elif kind == "json":
        lines.append(f"  -d {shlex.quote(json.dumps(req['body'], indent=2))}")
    elif kind == "text":
        lines.append(f"  --data-binary {shlex.quote(text_body(req['body']))}")
    return prefix + " \\\n".join(lines)


def _javascript(req: dict[str, Any], api_key: str | None) -> str:
    headers = []
    literal, env = _bearer(req, api_key)
    if literal or env:
        token = json.dumps(f"Bearer {literal}") if literal else f"`Bearer ${{process.env.{env}}}`"
        headers.append(f'    "Authorization": {token},')
    headers += [f"    {json.dumps(name)}: {json.dumps(value)}," for name, value in req["headers"]]
    kind = req["body_kind"]
    if kind in ("json", "form", "text"):
        headers.append(f'    "Content-Type": {json.dumps(req["content_type"])},')
    options = [f'  method: "{req["method"]}",']
    if not (literal or env):
        options.append('  credentials: "include", // a signed-in portal session')
    if headers:
        options.append("  headers: {\n" + "\n".join(headers) + "\n  },")
    prelude = ""
    if kind == "json":
        body = json.dumps(req["body"], indent=2).replace("\n", "\n  ")
        options.append(f"  body: JSON.stringify({body}),")
    elif kind == "form":
        pairs = json.dumps([list(pair) for pair in form_fields(req["body"])], indent=2).replace("\n", "\n  ")
        options.append(f"  body: new URLSearchParams({pairs}),")
    elif kind == "multipart":
        appends = [f"form.append({json.dumps(name)}, {json.dumps(value)});" for name, value in form_fields(req["body"])]
        prelude = "const form = new FormData();\n" + "".join(line + "\n" for line in appends)
        options.append("  body: form, // fetch writes the multipart Content-Type itself")
    elif kind == "text":
        options.append(f"  body: {json.dumps(text_body(req['body']))},")
    return (
        prelude + f"const response = await fetch({json.dumps(req['url'])}, {{\n" + "\n".join(options) + "\n});\n"
        'console.log(response.status, response.headers.get("RateLimit"));\n'
        "console.log(await response.json());"
    )


def _python(req: dict[str, Any], api_key: str | None) -> str:
    literal, env = _bearer(req, api_key)
    lines = ["import os" if env else "", "import httpx", ""]
    args = [f"    {json.dumps(req['method'])},", f"    {json.dumps(req['url'])},"]
    headers = [f"{json.dumps(name)}: {json.dumps(value)}" for name, value in req["headers"]]
    if literal or env:
        token = json.dumps(f"Bearer {literal}") if literal else f"f\"Bearer {{os.environ['{env}']}}\""
        headers.insert(0, f'"Authorization": {token}')
    else:
        args.append('    cookies={"sessionid": "<your portal session>"},')
    if req["body_kind"] == "text":
        headers.append(f'"Content-Type": {json.dumps(req["content_type"])}')
    if headers:
        args.append("    headers={" + ", ".join(headers) + "},")
    kind = req["body_kind"]
    if kind == "json":
        body = pprint.pformat(req["body"], indent=4, width=88, sort_dicts=False).replace("\n", "\n    ")
        args.append(f"    json={body},")
    elif kind == "form":  # httpx repeats a field for each item of a list
        data: dict[str, Any] = {}
        for name, value in form_fields(req["body"]):
            if name not in data:
                data[name] = value
            elif isinstance(data[name], list):
                data[name].append(value)
            else:
                data[name] = [data[name], value]
        body = pprint.pformat(data, indent=4, width=88, sort_dicts=False).replace("\n", "\n    ")
        args.append(f"    data={body},")
    elif kind == "multipart":
        files = [(name, (None, value)) for name, value in form_fields(req["body"])]
        body = pprint.pformat(files, indent=4, width=88).replace("\n", "\n    ")
        args.append(f"    files={body},")
    elif kind == "text":
        args.append(f"    content={json.dumps(text_body(req['body']))},")
    lines += [
        "response = httpx.request(",
        *args,
        ")",
        'print(response.status_code, response.headers.get("RateLimit"))',
        "print(response.json())",
    ]
    return "\n".join(lines).lstrip("\n")


def _php_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _php(req: dict[str, Any], api_key: str | None) -> str:
    headers = []
    literal, env = _bearer(req, api_key)
    if literal:
        headers.append(f'        "Authorization: Bearer {literal}",')
    elif env:
        headers.append(f'        "Authorization: Bearer " . getenv("{env}"),')
    else:
        headers.append('        "Cookie: sessionid=<your portal session>",')
    headers += [f"        {_php_string(f'{name}: {value}')}," for name, value in req["headers"]]
    kind = req["body_kind"]
    if kind in ("json", "form", "text"):
        headers.append(f"        {_php_string('Content-Type: ' + req['content_type'])},")
    opts = [
        f'    CURLOPT_CUSTOMREQUEST => "{req["method"]}",',
        "    CURLOPT_RETURNTRANSFER => true,",
        "    CURLOPT_HEADER => true,",
        "    CURLOPT_HTTPHEADER => [\n" + "\n".join(headers) + "\n    ],",
    ]
    if kind == "json":
        opts.append(f"    CURLOPT_POSTFIELDS => {_php_string(json.dumps(req['body']))},")
    elif kind == "form":  # pre-encoded: http_build_query would write To[0]=… for a repeated field
        opts.append(f"    CURLOPT_POSTFIELDS => {_php_string(urlencode(form_fields(req['body'])))},")
    elif kind == "multipart":  # an array makes curl send multipart/form-data
        fields = "".join(f"        {_php_string(n)} => {_php_string(v)},\n" for n, v in form_fields(req["body"]))
        opts.append("    CURLOPT_POSTFIELDS => [\n" + fields + "    ],")
    elif kind == "text":
        opts.append(f"    CURLOPT_POSTFIELDS => {_php_string(text_body(req['body']))},")
    return (
        "<?php\n"
        f"$ch = curl_init({_php_string(req['url'])});\n"
        "curl_setopt_array($ch, [\n" + "\n".join(opts) + "\n]);\n"
        "$response = curl_exec($ch);\n"
        "$status = curl_getinfo($ch, CURLINFO_HTTP_CODE);\n"
        "curl_close($ch);\n"
        "echo $status, PHP_EOL, $response, PHP_EOL;"
    )
