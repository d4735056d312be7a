"""What a new version of a document would change in a product's catalogue. Operations are
matched by operation id: the same id is the same operation (its price rule, scope and switch
are kept), whatever else changed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from products.documents import LocatedError
from products.importer import OperationSpec


@dataclass(frozen=True, slots=True)
class ExistingOperation:
    """What the diff needs of an operation already in the database."""

    operation_id: str
    method: str
    path_template: str
    summary: str
    description: str
    tag: str
    parameters: Any
    request_body: Any
    responses: Any
    fingerprint: str
    removed: bool


@dataclass(frozen=True, slots=True)
class OperationChange:
    spec: OperationSpec
    changes: tuple[str, ...]
    previous_method: str
    previous_path_template: str


@dataclass
class ImportPreview:
    """The errors of a document, or the diff it would apply (``ok`` tells which)."""

    errors: list[LocatedError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    added: list[OperationSpec] = field(default_factory=list)
    restored: frozenset[str] = frozenset()
    changed: list[OperationChange] = field(default_factory=list)
    removed: list[ExistingOperation] = field(default_factory=list)
    unchanged: int = 0
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def has_changes(self) -> bool:
        return bool(self.added or self.changed or self.removed)

    def as_dict(self) -> dict[str, Any]:
        if self.errors:
            return {"valid": False, "errors": [error.as_dict() for error in self.errors]}
        return {
            "valid": True,
            "document": self.info,
            "warnings": self.warnings,
            "added": [{**_route(spec), "restored": spec.operation_id in self.restored} for spec in self.added],
            "changed": [
                {
                    **_route(change.spec),
                    "changes": list(change.changes),
                    "previous_method": change.previous_method,
                    "previous_path_template": change.previous_path_template,
                }
                for change in self.changed
            ],
            "removed": [
                {"operation_id": op.operation_id, "method": op.method, "path_template": op.path_template}
                for op in self.removed
            ],
            "unchanged": self.unchanged,
        }


def _route(spec: OperationSpec) -> dict[str, Any]:
    return {
        "operation_id": spec.operation_id,
        "method": spec.method,
        "path_template": spec.path_template,
        "summary": spec.summary,
        "tag": spec.tag,
    }


def operations_diff(specs: list[OperationSpec], existing: list[ExistingOperation]) -> ImportPreview:
    by_id = {op.operation_id: op for op in existing}
    preview = ImportPreview()
    restored = set()
    for spec in specs:
        old = by_id.get(spec.operation_id)
        if old is None or old.removed:
            preview.added.append(spec)
            if old is not None:
                restored.add(spec.operation_id)
        elif old.fingerprint == spec.fingerprint and (old.method, old.path_template) == (
            spec.method,
            spec.path_template,
        ):
            preview.unchanged += 1
        else:
            preview.changed.append(OperationChange(spec, _changes(old, spec), old.method, old.path_template))
    preview.restored = frozenset(restored)
    new_ids = {spec.operation_id for spec in specs}
    preview.removed = [op for op in existing if not op.removed and op.operation_id not in new_ids]
    return preview


def _changes(old: ExistingOperation, spec: OperationSpec) -> tuple[str, ...]:
    aspects = (
        ("method and path", (old.method, old.path_template) != (spec.method, spec.path_template)),
        ("summary", old.summary != spec.summary),
        ("description", old.description != spec.description),
        ("tag", old.tag != spec.tag),
        ("parameters", old.parameters != spec.parameters),
        ("request body", old.request_body != spec.request_body),
        ("responses", old.responses != spec.responses),
        ("referenced schemas", old.fingerprint.partition(":")[2] != spec.fingerprint.partition(":")[2]),
    )
    return tuple(name for name, differs in aspects if differs)
