"""The project's drf-spectacular AutoSchema.

STYLE.md asks for one API class per operation with nested ``InputSerializer`` /
``OutputSerializer`` classes. drf-spectacular names components after the serializer class
alone, so every ``InputSerializer`` would become the same ``Input`` component (a warning and
a wrong schema). Nested serializers are named after their API class instead:
``KeyCreateApi.InputSerializer`` → ``KeyCreateInput``.
"""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema

_OUTER_SUFFIXES = ("APIView", "ApiView", "Api", "View", "ViewSet")


class TollgateAutoSchema(AutoSchema):
    def get_serializer_name(self, serializer, direction) -> str:
        qualname = type(serializer).__qualname__
        parts = qualname.split(".")
        if len(parts) < 2 or "<locals>" in parts:
            return super().get_serializer_name(serializer, direction)
        outer, inner = parts[-2], parts[-1]
        for suffix in _OUTER_SUFFIXES:
            if outer.endswith(suffix) and outer != suffix:
                outer = outer[: -len(suffix)]
                break
        return outer + inner.removesuffix("Serializer")

    def _get_serializer_field_meta(self, field, direction):
        meta = super()._get_serializer_field_meta(field, direction)
        if isinstance(meta, dict) and field_is_nullable_in_model(field) and not meta.get("nullable"):
            # An explicitly declared read-only field (e.g. PrimaryKeyRelatedField(read_only=True))
            # over a null=True model column returns null; say so, or clients and the contract
            # tests reject real responses.
            meta["nullable"] = True
        return meta


def field_is_nullable_in_model(field) -> bool:
    """A read-only field of a ModelSerializer whose source model field is ``null=True``."""
    if not getattr(field, "read_only", False):
        return False
    parent = getattr(field, "parent", None)
    model = getattr(getattr(parent, "Meta", None), "model", None)
    source = getattr(field, "source", None)
    if model is None or not source or source == "*" or "." in source:
        return False
    try:
        model_field = model._meta.get_field(source.removesuffix("_id"))
    except Exception:  # not a model field (property, method): nothing to infer  # noqa: BLE001 - schema generation must not fail on one odd field
        return False
    return bool(getattr(model_field, "null", False))
