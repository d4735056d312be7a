"""``openapi-spec-validator``, made safe and fast enough for an operator's upload.

Safe:
* References are checked first (``documents.refs_check``): only internal ``#/…`` ones that
  resolve. The library would otherwise fetch ``http://`` and ``file://`` URLs a document names;
  its resolver is also given handlers that refuse every retrieval (a schema's ``$id`` could
  rebase an internal-looking ref), because for a scheme it has no handler for it falls back to
  ``urlopen``.
* Exceptions from the library (it raises on some malformed documents) become located errors.
* Its ``iter_errors`` is ``lru_cache``d on the validator instance without a bound: the cache
  is cleared after each run, or every import would keep its document alive in the process.

Fast — measured on a generated 600-operation, 2.9 MB document (tests/products/test_timing.py):
almost all of the time went into checking each Schema Object against the OpenAPI schema
dialect with pure-Python ``jsonschema`` (a new metaschema validator per schema, 60 ms for a
60-property schema under 3.1's ``$dynamicRef``s), and into visited-schema bookkeeping kept in
lists (``in`` on a list: quadratic). The same check runs here with a ``jsonschema-rs``
validator compiled once per process for the dialect's metaschema, and the bookkeeping uses
sets. Schemas that declare another dialect (``$schema``) keep the library's own check.
"""

from __future__ import annotations

import re
from collections import deque
from functools import cache
from typing import Any

import jsonschema_rs
from jsonschema.exceptions import SchemaError
from openapi_schema_validator import OAS31_BASE_DIALECT_ID
from openapi_schema_validator._specifications import REGISTRY as OPENAPI_METASCHEMAS
from openapi_schema_validator.validators import OAS30Validator, OAS31Validator
from openapi_spec_validator import OpenAPIV30SpecValidator, OpenAPIV31SpecValidator
from openapi_spec_validator.validation import keywords
from openapi_spec_validator.validation.validators import SpecValidator

from products.documents import MAX_ERRORS, LocatedError, refs_check
from products.pointers import pointer_format

_VERSION_RE = re.compile(r"^3\.([01])\.\d+$")
# The library's messages without a location name the operation: locate them there.
_OPERATION_IN_MESSAGE = re.compile(r"for '(?P<method>[a-z]+)'(?: operation)? in '(?P<path>/[^']*)'")


def spec_validate(data: dict[str, Any]) -> list[LocatedError]:
    """Errors of an OpenAPI 3.0/3.1 document (references checked first), at most ``MAX_ERRORS``."""
    version = data.get("openapi")
    match = _VERSION_RE.match(version) if isinstance(version, str) else None
    if match is None:
        found = "swagger 2.0" if "swagger" in data else repr(version)
        return [LocatedError("/openapi", f"Expected an OpenAPI 3.0.x or 3.1.x document, found {found}.")]
    errors = refs_check(data)
    if errors:
        return errors
    validator_cls = _OpenApi30Validator if match.group(1) == "0" else _OpenApi31Validator
    try:
        for error in validator_cls(data).iter_errors():
            errors.append(_located(error))
            if len(errors) >= MAX_ERRORS:
                break
    except Exception as exc:  # noqa: BLE001 - the library raises on documents it cannot walk; report, never 500
        # After a schema error the keyword checks often trip over the same malformed node:
        # the schema error already says what is wrong.
        if not errors:
            errors.append(LocatedError("", f"The document could not be validated: {exc!r}"))
    finally:
        cache_clear = getattr(getattr(SpecValidator.iter_errors, "__wrapped__", None), "cache_clear", None)
        if callable(cache_clear):
            cache_clear()
    return errors


def _located(error: Any) -> LocatedError:
    path = list(getattr(error, "absolute_path", []) or [])
    message = str(getattr(error, "message", error)).split("\n")[0]
    if path:
        return LocatedError(pointer_format(path), message)
    found = _OPERATION_IN_MESSAGE.search(message)
    if found:
        return LocatedError(pointer_format(("paths", found["path"], found["method"])), message)
    return LocatedError("", message)


class _RefuseEveryScheme(dict):
    """Resolver handlers: every URI scheme is "handled" — by refusing to retrieve it."""

    def __contains__(self, scheme: object) -> bool:
        return True

    def __getitem__(self, scheme: str) -> Any:
        return _refuse_retrieval


def _refuse_retrieval(uri: str) -> Any:
    raise ValueError(f"external reference {uri!r} not allowed")


class _IdSet(set[int]):
    """The library records visited schema ids with ``list.append`` and tests them with ``in``."""

    append = set.add


@cache
def _metaschema_validator(metaschema_id: str) -> Any:
    resources = [(uri, OPENAPI_METASCHEMAS.contents(uri)) for uri in OPENAPI_METASCHEMAS if "openapis.org" in uri]
    metaschema = OAS31Validator.META_SCHEMA if metaschema_id == OAS31_BASE_DIALECT_ID else OAS30Validator.META_SCHEMA
    return jsonschema_rs.validator_for(metaschema, registry=jsonschema_rs.Registry(resources), validate_formats=True)


def _rs_checker(metaschema_id: str, where: tuple[Any, ...]) -> Any:
    validator = _metaschema_validator(metaschema_id)

    def check(schema_value: Any) -> None:
        for error in validator.iter_errors(schema_value):
            raise SchemaError(error.message, path=deque([*where, *error.instance_path]))

    return check


class _FastSchemaChecks30(keywords.OpenAPIV30SchemaValidator):
    def __init__(self, registry: Any) -> None:
        super().__init__(registry)
        self.visited_schema_ids = _IdSet()  # type: ignore[assignment]  # used through append/in only
        self.meta_checked_schema_ids = _IdSet()  # type: ignore[assignment]

    def _get_schema_checker(self, schema: Any, schema_value: Any) -> Any:
        return _rs_checker(OAS30Validator.META_SCHEMA["id"], tuple(schema.parts))


class _FastSchemaChecks31(keywords.OpenAPIV31SchemaValidator):
    def __init__(self, registry: Any) -> None:
        super().__init__(registry)
        self.visited_schema_ids = _IdSet()  # type: ignore[assignment]  # used through append/in only
        self.meta_checked_schema_ids = _IdSet()  # type: ignore[assignment]

    def _get_schema_checker(self, schema: Any, schema_value: Any) -> Any:
        if self._get_schema_dialect_id(schema, schema_value) != OAS31_BASE_DIALECT_ID:
            return super()._get_schema_checker(schema, schema_value)
        return _rs_checker(OAS31_BASE_DIALECT_ID, tuple(schema.parts))


class _OpenApi30Validator(OpenAPIV30SpecValidator):
    resolver_handlers = _RefuseEveryScheme()
    keyword_validators = {**OpenAPIV30SpecValidator.keyword_validators, "schema": _FastSchemaChecks30}


class _OpenApi31Validator(OpenAPIV31SpecValidator):
    resolver_handlers = _RefuseEveryScheme()
    keyword_validators = {**OpenAPIV31SpecValidator.keyword_validators, "schema": _FastSchemaChecks31}
