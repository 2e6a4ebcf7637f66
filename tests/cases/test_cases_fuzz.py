"""Property-based fuzzing from the service's own OpenAPI schema (schemathesis): whatever the
generated request, the live service never answers 5xx. Bounded so that it stays well under a minute."""

from __future__ import annotations

import pytest
from conftest import LiveServer

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402

EXAMPLES = 15  # per operation and mode


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["positive", "negative"])
def test_no_server_errors(sqlite_server: LiveServer, mode: GenerationMode) -> None:
    device_token, _device, _cameras = sqlite_server.new_device()
    schema = schemathesis.openapi.from_url(f"{sqlite_server.base_url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.label for op in operations} >= {
        "POST /api/v1/cases",
        "GET /api/v1/cases",
        "POST /open311/v2/requests.json",
    }
    for operation in operations:
        # Valid credentials, so that generated requests get past authentication into the handlers.
        token = device_token if operation.label == "POST /api/v1/cases" else sqlite_server.reviewer
        try:
            fuzz(operation, mode, sqlite_server.base_url, {"Authorization": f"Bearer {token}"})
        except Unsatisfiable:
            # Negative mode on an operation without inputs (GET /healthz): nothing can be made invalid.
            if mode is GenerationMode.POSITIVE or operation.body or operation.query or operation.path_parameters:
                raise


def fuzz(operation, mode: GenerationMode, base_url: str, headers: dict[str, str]) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
              database=None)  # fmt: skip
    def check(case) -> None:
        case.call_and_validate(base_url=base_url, headers=headers, checks=[not_a_server_error])

    check()
