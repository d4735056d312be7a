"""Contract test: schemathesis drives every operation of /api/schema/ in-process (WSGI) and
checks each response: no server error, a documented status code, content type and headers,
and a body that validates against the schema. Authenticated with a real test key (and a
signed-in session for the customer API), so the v1 operations really run.

Runtime is bounded by CONTRACT_MAX_EXAMPLES per operation and mode (default 15).
"""

from __future__ import annotations

import os
from collections import defaultdict

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from public.product_docs.fragment import PRODUCT_EXTENSION
from tests.contract.credentials import contract_credentials, product_documented

pytestmark = pytest.mark.django_db(transaction=False)

MAX_EXAMPLES = int(os.environ.get("CONTRACT_MAX_EXAMPLES", "15"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def _run_operation(operation, *, mode, headers, cookies, failures, statuses):
    @given(case=operation.as_strategy(generation_mode=mode))
    @hypothesis_settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case):
        response = case.call(headers=headers, cookies=cookies)
        statuses[operation.label].add(response.status_code)
        try:
            case.validate_response(response, checks=CHECKS)
        except (AssertionError, BaseExceptionGroup) as exc:  # schemathesis failures: report every operation at once
            details = [str(e) for e in getattr(exc, "exceptions", [exc])]
            failures.setdefault(
                f"{operation.label} [{mode.value}]",
                f"{case.method} {case.formatted_path}: " + " | ".join(details)[:1500],
            )

    run()


@pytest.fixture
def keep_test_connection():
    """A raw WSGI call closes "old" connections at the end of each request, which would close the
    test transaction's connection; Django's own test client disconnects the same signals."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def test_every_operation_honours_the_schema(client, user, org, keep_test_connection):
    credentials = contract_credentials(client=client, user=user, org=org)
    app = get_wsgi_application()
    product_documented()
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", app)
    # Tollgate's own API only: an API product's operations are the operator's upstream's
    # contract (the merged document is validated in tests/public/test_product_docs.py).
    schema = schema.exclude(func=lambda ctx: PRODUCT_EXTENSION in ctx.operation.definition.raw)
    failures: dict[str, str] = {}
    statuses: dict[str, set[int]] = defaultdict(set)
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _run_operation(
                operation,
                mode=mode,
                headers=credentials.headers,
                cookies=credentials.cookies,
                failures=failures,
                statuses=statuses,
            )
    assert operations >= credentials.min_operations, "the schema lost operations"
    assert not failures, "\n\n".join(f"{label}: {detail}" for label, detail in failures.items())
    # The key really works: every v1 operation called with it succeeded at least once.
    for label, seen in statuses.items():
        if " /v1/" in label and credentials.key_operations_must_succeed and "/v1/keys/verify" not in label:
            assert any(200 <= code < 300 for code in seen), (label, sorted(seen))
