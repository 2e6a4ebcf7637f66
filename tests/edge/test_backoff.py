"""One backoff rule for camera reconnects and case-service retries."""

from __future__ import annotations

import random

import pytest

from streetwatch.backoff import Backoff


def test_doubles_from_initial_and_caps_without_jitter() -> None:
    b = Backoff(initial_s=1.0, max_s=10.0, jitter=0.0)
    rng = random.Random(0)
    assert [b.delay(n, rng) for n in (0, 1, 2, 3, 4, 5, 50)] == [1.0, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


@pytest.mark.parametrize("jitter", [0.0, 0.3, 1.0])
def test_jitter_stays_within_its_fraction_and_never_negative(jitter: float) -> None:
    b = Backoff(initial_s=2.0, max_s=300.0, jitter=jitter)
    rng = random.Random(1)
    for attempts in range(1, 12):
        base = min(300.0, 2.0 * 2 ** (attempts - 1))
        for _ in range(50):
            d = b.delay(attempts, rng)
            assert max(0.0, base * (1 - jitter)) <= d <= base * (1 + jitter)


def test_same_seed_same_delays() -> None:
    b = Backoff()
    assert [b.delay(n, random.Random(7)) for n in range(1, 6)] == [b.delay(n, random.Random(7)) for n in range(1, 6)]
