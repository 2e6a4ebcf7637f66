"""Exponential backoff with jitter: the one rule for camera reconnects, case-service retries and
the case service's forwarding to a city platform."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """Delay n: initial_s * 2^(n-1), capped at max_s, then +/- `jitter` (a fraction) so boxes do not retry in step."""

    initial_s: float = 2.0
    max_s: float = 300.0
    jitter: float = 0.2

    def delay(self, attempts: int, rng: random.Random) -> float:
        """Seconds to wait before attempt `attempts` + 1 (attempts >= 1 failures so far)."""
        base = min(self.max_s, self.initial_s * 2 ** max(attempts - 1, 0))
        return max(0.0, base * (1 + rng.uniform(-self.jitter, self.jitter)))
