"""The one comparison rule for confidence thresholds, everywhere (detector, zone rules, tracker):
a score passes when it is at or above its threshold (`>=`).

So a threshold of 0 keeps every box, and a configured 0.30 keeps a score of exactly 0.30.
ultralytics compares with `>`; the two differ only for a score exactly equal to the threshold.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def passes(scores: npt.NDArray[np.float32], threshold: float | npt.NDArray[np.float32]) -> npt.NDArray[np.bool_]:
    """scores (N,), threshold scalar or (N,) -> mask (N,) of the scores at or above it."""
    return np.asarray(scores >= threshold, dtype=bool)
