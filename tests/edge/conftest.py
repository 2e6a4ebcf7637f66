"""Edge fixtures: the real case service, started once per test module, with a device token for `box-1`
that covers a pool of cameras; each test takes fresh camera ids, so it sees only its own cases."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from live_cases import CaseService

POOL = [f"cam-{n}" for n in range(1, 25)]


@pytest.fixture(scope="module")
def case_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CaseService]:
    service = CaseService(tmp_path_factory.mktemp("case-service"))
    service.device = service.device_token("box-1", POOL)
    service.start()
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture(scope="module")
def _camera_ids() -> Iterator[str]:
    return iter(POOL)


@pytest.fixture
def new_camera(_camera_ids: Iterator[str]) -> Callable[[], str]:
    """Hands out camera ids no other test of the module has used (all on the module's device token)."""
    return lambda: next(_camera_ids)
