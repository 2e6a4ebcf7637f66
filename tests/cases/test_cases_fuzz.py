"""Property-based fuzzing from the service's own OpenAPI schema (schemathesis): whatever the
generated request, the live service never answers 5xx, on SQLite and on PostgreSQL (two workers).
Schemathesis rarely generates the values that broke the service before (NaN, Infinity, NUL, 10**19,
dates that overflow in UTC, deep nesting), so those are tried in every field as well.
Bounded so that it stays well under a minute per backend."""

from __future__ import annotations

import json

import pytest
from case_builders import images_for_case, post_case, report
from live_server import LiveServer

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402

EXAMPLES = 15  # per operation and mode


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["positive", "negative"])
def test_no_server_errors(server: LiveServer, mode: GenerationMode) -> None:
    device_token, _device, _cameras = server.new_device()
    schema = schemathesis.openapi.from_url(f"{server.base_url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.label for op in operations} >= {
        "POST /api/v1/cases",
        "GET /api/v1/cases",
        "POST /open311/v2/requests.json",
    }
    for operation in operations:
        # Valid credentials, so that generated requests get past authentication into the handlers.
        token = device_token if operation.label == "POST /api/v1/cases" else server.reviewer
        try:
            fuzz(operation, mode, server.base_url, {"Authorization": f"Bearer {token}"})
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


# Values that broke an earlier version of the service (500s, or garbage stored): every field of a
# valid filing gets each one in turn, on both backends.
HOSTILE_VALUES: list[object] = [
    float("nan"), float("inf"), float("-inf"), 10**19, -(10**19), 1e308, -1, 0, "",
    "a\x00b", "\x00", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "x" * 5000, [], {}, None, True,
]  # fmt: skip


def _leaves(value: object, path: tuple = ()) -> list[tuple]:
    if isinstance(value, dict):
        return [path, *(leaf for k, v in value.items() for leaf in _leaves(v, (*path, k)))]
    if isinstance(value, list):
        return [path, *(leaf for i, v in enumerate(value) for leaf in _leaves(v, (*path, i)))]
    return [path]


def _replaced(body: object, path: tuple, value: object) -> object:
    if not path:
        return value
    copy = json.loads(json.dumps(body))
    target = copy
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return copy


def test_hostile_values_in_every_field(server: LiveServer) -> None:
    """Each field of a filing (and the whole body) replaced by each hostile value, and the body nested
    100,000 deep: never a 5xx, always a JSON answer."""
    token, device, cameras = server.new_device()
    images = images_for_case(seed=91)
    body = report(device, cameras[0], images)
    parts = list(images.values())
    failures = []
    with server.client() as client:
        for path in _leaves(body):
            for value in HOSTILE_VALUES:
                mutated = _replaced(body, path, value)
                response = post_case(client, token, json.dumps(mutated), parts, key=None)
                if response.status_code >= 500 or not response.headers["content-type"].startswith("application/json"):
                    failures.append((path, value, response.status_code, response.text[:200]))
        deep = "[" * 100_000 + "]" * 100_000
        response = post_case(client, token, deep, parts, key=None)
        if response.status_code >= 500:
            failures.append(("deep", "", response.status_code, response.text[:200]))
    assert not failures, failures[:10]


@pytest.mark.parametrize(
    ("path", "names"),
    [
        ("/api/v1/cases", ["since", "until", "camera_id", "status", "bbox", "cursor", "source", "limit"]),
        ("/open311/v2/requests.json", ["start_date", "end_date", "service_request_id", "service_code", "status"]),
    ],
)
def test_hostile_query_values(server: LiveServer, path: str, names: list[str]) -> None:
    failures = []
    with server.reviewer_client() as client:
        for name in names:
            for value in HOSTILE_VALUES:
                if isinstance(value, list | dict) or value is None:
                    continue
                response = client.get(path, params={name: str(value)})
                if response.status_code >= 500:
                    failures.append((name, value, response.status_code, response.text[:200]))
    assert not failures, failures[:10]
