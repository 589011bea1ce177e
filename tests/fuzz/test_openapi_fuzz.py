"""Schemathesis over the app's own `/openapi.json`: every operation, positive and negative inputs; no 5xx, no
secret in a body, responses as declared, and nothing created by a refused owner/channel request.

The schema is loaded from the running app (a session fixture), so the operations are iterated inside one test
per generation mode rather than collected by ``@schema.parametrize()`` at import time (nothing is built then).
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from tests.fuzz.world import FuzzWorld, examples, tried

CHECKS = [not_a_server_error, content_type_conformance, response_schema_conformance]


def _fuzz_operation(world: FuzzWorld, operation: schemathesis.APIOperation, mode: GenerationMode) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=examples(4),
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def run(case: schemathesis.Case) -> None:
        before = world.counts()
        response = case.call()
        tried(f"openapi {operation.method.upper()} {operation.path}")
        case.validate_response(response, checks=CHECKS)
        assert not world.leaked(response.content), f"a secret in the response of {operation.label}"
        if response.status_code >= 400:
            assert world.counts() == before, f"{operation.label} refused the request but created work"

    try:
        run()
    except Unsatisfiable:
        # negative mode: an operation with no parameters and no body has nothing to make invalid
        assert mode is GenerationMode.NEGATIVE, f"no positive case for {operation.label}"


# werkzeug's test client leaves send_file's handle for GC when a caller does not close the response
@pytest.mark.filterwarnings("ignore:Exception ignored in.*chat/static:pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["positive", "negative"])
def test_every_operation_answers_without_5xx_leaks_or_undeclared_bodies(world: FuzzWorld, mode: GenerationMode) -> None:
    schema = schemathesis.openapi.from_wsgi("/openapi.json", world.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 30  # the document covers every route (see gateway/openapi.py)
    for operation in operations:
        _fuzz_operation(world, operation, mode)
