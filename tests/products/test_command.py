"""``manage.py products_import``: the diff or the located errors, and --apply."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from tests.products.documents import as_json, as_yaml, small_document


def test_prints_the_diff_without_importing(product, tmp_path):
    path = tmp_path / "openapi.yaml"
    path.write_text(as_yaml(small_document()))
    out = io.StringIO()
    call_command("products_import", "messaging", str(path), stdout=out)
    assert "+ POST /messages messages_send" in out.getvalue()
    assert "4 added, 0 changed, 0 removed, 0 unchanged." in out.getvalue()
    assert not product.operations.exists()


def test_apply_imports_and_reads_stdin(product, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(as_json(small_document())))
    out = io.StringIO()
    call_command("products_import", "messaging", "-", "--apply", stdout=out)
    assert "Imported as version 1 of messaging." in out.getvalue()
    assert product.operations.count() == 4

    document = small_document()
    del document["paths"]["/messages/{id}"]["delete"]
    monkeypatch.setattr("sys.stdin", io.StringIO(as_json(document)))
    out = io.StringIO()
    call_command("products_import", "messaging", "-", "--apply", stdout=out)
    assert "- DELETE /messages/{id} messages_delete" in out.getvalue()
    assert "Imported as version 2" in out.getvalue()


def test_errors_are_printed_with_their_location_and_fail(product, tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("openapi: 3.0.3\ninfo:\n  title: x\npaths: {}\n")
    err = io.StringIO()
    with pytest.raises(CommandError, match="nothing imported"):
        call_command("products_import", "messaging", str(path), "--apply", stderr=err)
    assert "/info (line 3, column 3):" in err.getvalue() and "version" in err.getvalue()
    assert not product.operations.exists()


def test_unknown_product_fails(db, tmp_path):
    with pytest.raises(CommandError, match="No API product"):
        call_command("products_import", "nope", str(tmp_path / "x.json"))
