"""Operation ids for operations whose document gives none: generated from the route, stable
across imports. Usage events, invoices and key scopes name operations by id, so an id that
changed between two imports would orphan them."""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace

from products.importer import MAX_OPERATION_ID, PARAM_RE, OperationSpec

_EXTENSION_RE = re.compile(r"\.(json|xml|ya?ml|csv|txt|html)$", re.IGNORECASE)
_CAMEL_RE = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NOT_WORD_RE = re.compile(r"[^a-z0-9]+")


def generated_operation_id(method: str, path_template: str) -> str:
    """``GET /2010-04-01/Accounts/{AccountSid}/Messages.json`` → ``get_accounts_account_sid_messages``:
    the method, then each segment in snake case without a format extension; segments that do
    not start with a letter (version dates) are left out."""
    words = [method.lower()]
    for segment in path_template.split("/"):
        segment = _EXTENSION_RE.sub("", PARAM_RE.sub(r"\1", segment))
        if not segment or not segment[0].isalpha():
            continue
        word = _NOT_WORD_RE.sub("_", _CAMEL_RE.sub("_", segment).lower()).strip("_")
        if word:
            words.append(word)
    return "_".join(words)[:MAX_OPERATION_ID]


def ids_assign(specs: list[OperationSpec], known_routes: dict[tuple[str, str], str]) -> list[OperationSpec]:
    """Give every operation without ``operationId`` a stable id.

    1. An operation whose (METHOD, path template) the product already has keeps that
       operation's id — even when a newly added path would now generate the same name.
    2. The others get ``generated_operation_id``; on a collision the later one (in the specs'
       path order) gets a suffix derived from its own route, so it depends on nothing else.
    """
    taken = {spec.operation_id for spec in specs if not spec.generated_id}
    assigned: dict[int, str] = {}
    for index, spec in enumerate(specs):
        current = known_routes.get((spec.method, spec.path_template)) if spec.generated_id else None
        if current and current not in taken:
            assigned[index] = current
            taken.add(current)
    out = []
    for index, spec in enumerate(specs):
        if spec.generated_id:
            operation_id = assigned.get(index)
            if operation_id is None:
                operation_id = generated_operation_id(spec.method, spec.path_template)
                if operation_id in taken:
                    suffix = hashlib.sha256(f"{spec.method} {spec.path_template}".encode()).hexdigest()[:8]
                    operation_id = f"{operation_id[: MAX_OPERATION_ID - 9]}_{suffix}"
                taken.add(operation_id)
            spec = replace(spec, operation_id=operation_id)
        out.append(spec)
    return out
