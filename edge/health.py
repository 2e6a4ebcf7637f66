"""Camera health from the sampled frames themselves: frozen, black or covered, moved.

Each check works on a small grey thumbnail (cheap at 1 frame/s). A problem must persist for its
`*_after_s` before it counts, and clears as soon as the view is normal again. While a camera has a
problem its rules are paused (they would file nonsense) and a health event is recorded.
"Moved" compares the edge map of the view with a reference taken when the camera first ran
healthy (kept on disk, so restarts do not forget it; delete the file to accept a new view).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from streetwatch.edge.config import HealthConfig

THUMB = (96, 54)  # (w, h)


def thumbnail(frame: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    grey = cv2.cvtColor(cv2.resize(frame, THUMB, interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2GRAY)
    return grey.astype(np.float32)


def edge_map(grey: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0)
    gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1)
    return cv2.GaussianBlur(np.hypot(gx, gy), (5, 5), 0)


def similarity(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32]) -> float:
    """Normalised correlation of two edge maps (1 = same view; lighting changes matter little)."""
    a, b = a - a.mean(), b - b.mean()
    denom = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / denom) if denom > 0 else 0.0


@dataclass
class HealthStatus:
    problems: dict[str, str] = field(default_factory=dict)  # problem -> detail, active ones only

    @property
    def healthy(self) -> bool:
        return not self.problems


class HealthMonitor:
    """Feed frames in order; `update` returns (started, ended) problems for health events."""

    def __init__(self, config: HealthConfig, reference_path: Path | None = None) -> None:
        self.config = config
        self.reference_path = reference_path
        self.status = HealthStatus()
        self._previous: npt.NDArray[np.float32] | None = None
        self._since: dict[str, float] = {}  # problem -> when its condition was first seen
        self.reference: npt.NDArray[np.float32] | None = None
        if reference_path is not None and reference_path.is_file():
            stored = cv2.imread(str(reference_path), cv2.IMREAD_GRAYSCALE)
            if stored is not None and stored.shape[::-1] == THUMB:
                self.reference = edge_map(stored.astype(np.float32))
        self._healthy_since: float | None = None
        self._reference_grey: npt.NDArray[np.float32] | None = None

    def update(self, frame: npt.NDArray[np.uint8], now: float) -> tuple[list[str], list[str]]:
        cfg = self.config
        grey = thumbnail(frame)
        mean, std = float(grey.mean()), float(grey.std())
        conditions: dict[str, tuple[bool, float | None, str]] = {}
        frozen = self._previous is not None and float(np.abs(grey - self._previous).mean()) <= cfg.frozen_max_diff
        conditions["frozen"] = (frozen, cfg.frozen_after_s, "the picture has not changed")
        dark = mean <= cfg.dark_max_mean or std <= cfg.flat_max_std
        conditions["dark_or_covered"] = (dark, cfg.dark_after_s, f"mean grey {mean:.0f}, spread {std:.1f}")
        moved, detail = False, ""
        if self.reference is not None and not dark:
            sim = similarity(edge_map(grey), self.reference)
            moved, detail = sim < cfg.moved_min_similarity, f"similarity to reference {sim:.2f}"
        conditions["moved"] = (moved, cfg.moved_after_s, detail)
        self._previous = grey

        started, ended = [], []
        for problem, (present, after_s, text) in conditions.items():
            if present and after_s is not None:
                since = self._since.setdefault(problem, now)
                if now - since >= after_s and problem not in self.status.problems:
                    self.status.problems[problem] = text
                    started.append(problem)
            else:
                self._since.pop(problem, None)
                if problem in self.status.problems:
                    del self.status.problems[problem]
                    ended.append(problem)
        self._maybe_take_reference(grey, now, dark)
        return started, ended

    def _maybe_take_reference(self, grey: npt.NDArray[np.float32], now: float, dark: bool) -> None:
        """The first view that stays healthy for a while becomes the reference for 'moved'."""
        if self.reference is not None or self.config.moved_after_s is None:
            return
        if dark or not self.status.healthy:
            self._healthy_since = None
            return
        if self._healthy_since is None:
            self._healthy_since, self._reference_grey = now, grey
            return
        if now - self._healthy_since >= min(30.0, self.config.moved_after_s):
            self.reference = edge_map(self._reference_grey)  # type: ignore[arg-type]
            if self.reference_path is not None:
                self.reference_path.parent.mkdir(parents=True, exist_ok=True)
                cv2.imwrite(str(self.reference_path), self._reference_grey.astype(np.uint8))  # type: ignore[union-attr]
