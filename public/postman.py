"""A Postman collection (format v2.1.0) generated from the OpenAPI document.

One folder per tag, one request per operation, with example bodies in the operation's own
encoding (JSON, form, multipart); an API product's operations are in one folder per product,
its document's tags inside. The API key is the collection variable ``apiKey`` (pre-filled with
the docs test key for a signed-in developer), used by collection-level auth for the gateway
operations; ``baseUrl`` is a variable too.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from public.examples import example_for, resolve
from public.oas import iter_operations
from public.product_docs.fragment import PRODUCT_EXTENSION
from public.sample_request import form_fields, form_value, operation_request, text_body

SCHEMA_URL = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"


def _url(path: str, query: list[dict[str, Any]], path_vars: list[dict[str, Any]]) -> dict[str, Any]:
    postman_path = re.sub(r"\{([^}]+)\}", r":\1", path)
    segments = [s for s in postman_path.split("/") if s]
    raw = "{{baseUrl}}" + postman_path
    if query:
        raw += "?" + "&".join(f"{q['key']}={q['value']}" for q in query)
    url: dict[str, Any] = {"raw": raw, "host": ["{{baseUrl}}"], "path": segments}
    if query:
        url["query"] = query
    if path_vars:
        url["variable"] = path_vars
    return url


def postman_collection(*, document: dict[str, Any], base_url: str, api_key: str | None) -> dict[str, Any]:
    info = document.get("info", {})
    folders: dict[str, dict[str, Any]] = {}
    extra_variables: dict[str, str] = {}
    for path, method, operation in iter_operations(document):
        params = [resolve(p, document) for p in operation.get("parameters", [])]
        query, path_vars, headers = [], [], []
        for param in params:
            value = param.get("example")
            if value is None:
                value = example_for(param.get("schema", {}), document, name=param.get("name", ""))
            entry = {"key": param["name"], "value": "" if value is None else form_value(value)}
            if param.get("description"):
                entry["description"] = param["description"]
            if param.get("in") == "query":
                entry["disabled"] = not param.get("required", False)
                query.append(entry)
            elif param.get("in") == "path":
                path_vars.append(entry)
            elif param.get("in") == "header":
                headers.append({"key": entry["key"], "value": entry["value"]})
        example = operation_request(spec=document, path=path, method=method, operation=operation, base_url="")
        request: dict[str, Any] = {
            "method": method.upper(),
            "header": headers,
            "url": _url(path, query, path_vars),
            "description": operation.get("description") or operation.get("summary") or "",
        }
        if example["body"] is not None:
            body = _body(example)
            if body["mode"] != "formdata":  # Postman writes the multipart boundary itself
                request["header"].append({"key": "Content-Type", "value": example["content_type"]})
            request["body"] = body
        if example.get("bearer_env"):
            # Another bearer credential (the operator token; a personal access token for the
            # customer API): its own collection variable.
            variable = _camel(example["bearer_env"].removeprefix("TOLLGATE_"))
            extra_variables.setdefault(variable, example["bearer_env"])
            request["auth"] = {
                "type": "bearer",
                "bearer": [{"key": "token", "value": "{{" + variable + "}}", "type": "string"}],
            }
        elif not example["uses_key"]:
            # Only a portal session (no bearer scheme): the browser's cookie, nothing to set.
            request["auth"] = {"type": "noauth"}
        product = operation.get(PRODUCT_EXTENSION)
        if product:  # an API product: its own folder, its document's tags inside
            outer = folders.setdefault(f"product:{product['slug']}", {"name": product["name"], "item": []})
            tag = product["tag"] or "Operations"
            folder = next((f for f in outer["item"] if f["name"] == tag), None)
            if folder is None:
                folder = {"name": tag, "item": []}
                outer["item"].append(folder)
        else:
            tag = (operation.get("tags") or ["other"])[0]
            folder = folders.setdefault(tag, {"name": tag, "item": []})
        folder["item"].append(
            {
                "name": operation.get("summary") or operation.get("operationId") or f"{method.upper()} {path}",
                "request": request,
                "response": [],
            }
        )
    return {
        "info": {
            "_postman_id": str(uuid.uuid5(uuid.NAMESPACE_URL, base_url + "/docs/postman.json")),
            "name": info.get("title", "API"),
            "description": info.get("description", ""),
            "schema": SCHEMA_URL,
            "version": info.get("version", "1.0.0"),
        },
        "item": list(folders.values()),
        "auth": {
            "type": "bearer",
            "bearer": [{"key": "token", "value": "{{apiKey}}", "type": "string"}],
        },
        "variable": [
            {"key": "baseUrl", "value": base_url.rstrip("/"), "type": "string"},
            {
                "key": "apiKey",
                "value": api_key or "",
                "type": "string",
                "description": "Your API key (tg_test_… for free test calls).",
            },
            *(
                {"key": name, "value": "", "type": "string", "description": f"Same as ${env} in the code samples."}
                for name, env in extra_variables.items()
            ),
        ],
    }


def _body(example: dict[str, Any]) -> dict[str, Any]:
    """A Postman request body in the operation's own encoding."""
    kind, body = example["body_kind"], example["body"]
    if kind == "form":
        return {"mode": "urlencoded", "urlencoded": [{"key": k, "value": v} for k, v in form_fields(body)]}
    if kind == "multipart":
        return {"mode": "formdata", "formdata": [{"key": k, "value": v, "type": "text"} for k, v in form_fields(body)]}
    if kind == "json":
        return {"mode": "raw", "raw": json.dumps(body, indent=2), "options": {"raw": {"language": "json"}}}
    return {"mode": "raw", "raw": text_body(body), "options": {"raw": {"language": "text"}}}


def _camel(snake: str) -> str:
    head, *rest = snake.lower().split("_")
    return head + "".join(part.title() for part in rest)
