"""Renaming a document's components under its product and rewriting its references: names and
data are told apart, 3.0 schemas become 3.1, references outside the components are inlined."""

from __future__ import annotations

from public.product_docs.refs import RefRewriter, reachable_components


def _document(**components):
    return {"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {}, "components": components}


def test_component_references_are_renamed_and_names_are_not_keywords():
    rewriter = RefRewriter(_document(schemas={"Pet": {}, "Owner": {}}), "shop")
    schema = {
        "type": "object",
        "properties": {
            # Properties called like keywords are still schemas.
            "default": {"$ref": "#/components/schemas/Pet"},
            "example": {"$ref": "#/components/schemas/Owner"},
        },
        "default": {"$ref": "#/components/schemas/Pet"},  # data: left as written
        "examples": [{"$ref": "not a reference"}],
    }
    out = rewriter.rewrite(schema)
    assert out["properties"]["default"] == {"$ref": "#/components/schemas/shop.Pet"}
    assert out["properties"]["example"] == {"$ref": "#/components/schemas/shop.Owner"}
    assert out["default"] == {"$ref": "#/components/schemas/Pet"}
    assert out["examples"] == [{"$ref": "not a reference"}]


def test_responses_keyed_default_and_example_objects_keep_their_values():
    rewriter = RefRewriter(_document(responses={"Error": {}}, examples={"One": {}}), "shop")
    operation = {
        "responses": {"default": {"$ref": "#/components/responses/Error"}},
        "requestBody": {
            "content": {
                "application/json": {
                    "examples": {
                        "shared": {"$ref": "#/components/examples/One"},
                        "inline": {"value": {"$ref": "#/components/examples/One"}},
                    }
                }
            }
        },
    }
    out = rewriter.rewrite(operation)
    assert out["responses"]["default"] == {"$ref": "#/components/responses/shop.Error"}
    examples = out["requestBody"]["content"]["application/json"]["examples"]
    assert examples["shared"] == {"$ref": "#/components/examples/shop.One"}
    assert examples["inline"] == {"value": {"$ref": "#/components/examples/One"}}


def test_discriminator_mappings_follow_the_renamed_schemas():
    rewriter = RefRewriter(_document(schemas={"Cat": {}, "Dog": {}}), "pets")
    out = rewriter.rewrite(
        {"discriminator": {"propertyName": "kind", "mapping": {"c": "Cat", "d": "#/components/schemas/Dog"}}}
    )
    assert out["discriminator"]["mapping"] == {
        "c": "#/components/schemas/pets.Cat",
        "d": "#/components/schemas/pets.Dog",
    }


def test_openapi_30_schemas_are_written_in_31():
    document = {**_document(schemas={"Pet": {}}), "openapi": "3.0.3"}
    rewriter = RefRewriter(document, "p")
    assert rewriter.rewrite({"type": "string", "nullable": True}) == {"type": ["string", "null"]}
    assert rewriter.rewrite({"type": "string", "enum": ["a"], "nullable": True}) == {
        "type": ["string", "null"],
        "enum": ["a", None],
    }
    assert rewriter.rewrite({"$ref": "#/components/schemas/Pet", "nullable": True}) == {
        "anyOf": [{"$ref": "#/components/schemas/p.Pet"}, {"type": "null"}]
    }
    assert rewriter.rewrite({"type": "integer", "minimum": 0, "exclusiveMinimum": True}) == {
        "type": "integer",
        "exclusiveMinimum": 0,
    }
    assert rewriter.rewrite({"type": "integer", "maximum": 9, "exclusiveMaximum": False}) == {
        "type": "integer",
        "maximum": 9,
    }
    # A property called "nullable" is a name, not the keyword.
    assert rewriter.rewrite({"properties": {"nullable": {"type": "boolean"}}}) == {
        "properties": {"nullable": {"type": "boolean"}}
    }


def test_references_outside_the_components_are_inlined_and_cycles_stop():
    document = _document(schemas={"Pet": {}})
    document["paths"] = {
        "/pets": {
            "get": {
                "responses": {
                    "200": {"description": "ok", "content": {"a/b": {"schema": {"$ref": "#/components/schemas/Pet"}}}}
                }
            }
        },
    }
    document["x-loop"] = {"next": {"$ref": "#/x-loop"}}
    rewriter = RefRewriter(document, "p")
    inlined = rewriter.rewrite({"$ref": "#/paths/~1pets/get/responses/200"})
    assert inlined["content"]["a/b"]["schema"] == {"$ref": "#/components/schemas/p.Pet"}
    loop = rewriter.rewrite({"$ref": "#/x-loop"})
    assert loop["next"] == {"description": "Not shown: #/x-loop refers back to itself."}


def test_only_reachable_components_are_carried_over():
    document = _document(
        schemas={
            "A": {"properties": {"b": {"$ref": "#/components/schemas/B"}}},
            "B": {"items": {"$ref": "#/components/schemas/A"}},  # a cycle
            "Unused": {},
        },
        parameters={"Limit": {"name": "limit", "in": "query", "schema": {"type": "integer"}}},
    )
    rewriter = RefRewriter(document, "p")
    roots = [{"$ref": "#/components/schemas/A"}, {"$ref": "#/components/parameters/Limit"}]
    reached = reachable_components(rewriter, roots)
    assert reached == {("schemas", "A"), ("schemas", "B"), ("parameters", "Limit")}
    components = rewriter.components(reached)
    assert set(components["schemas"]) == {"p.A", "p.B"}
    assert components["schemas"]["p.B"] == {"items": {"$ref": "#/components/schemas/p.A"}}
