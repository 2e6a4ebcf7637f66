"""Camera health on real frames: frozen, black/covered, moved (pointed at another scene)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from videos import IMAGES, street_scene

from streetwatch.edge.config import HealthConfig
from streetwatch.edge.health import HealthMonitor

CFG = HealthConfig(frozen_after_s=10, dark_after_s=5, moved_after_s=5)


def noisy(frame: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(frame.astype(np.int16) + rng.integers(-6, 7, frame.shape), 0, 255).astype(np.uint8)


def feed(monitor: HealthMonitor, frames: list[np.ndarray], start: float = 0.0) -> list[str]:
    started: list[str] = []
    for i, frame in enumerate(frames):
        s, _ = monitor.update(frame, start + i)
        started += s
    return started


@pytest.mark.parametrize(
    ("kind", "problem"),
    [("frozen", "frozen"), ("black", "dark_or_covered"), ("covered", "dark_or_covered"), ("moved", "moved")],
)
def test_problems_are_raised_after_their_time_and_clear(tmp_path: Path, kind: str, problem: str) -> None:
    scene = street_scene()
    monitor = HealthMonitor(CFG, tmp_path / "ref.png")
    assert feed(monitor, [noisy(scene, i) for i in range(40)]) == []  # live scene: healthy, reference taken
    assert (tmp_path / "ref.png").is_file()
    other = cv2.resize(cv2.imread(str(IMAGES / "bus.jpg")), scene.shape[1::-1])
    bad = {
        "frozen": [scene] * 15,
        "black": [np.zeros_like(scene)] * 8,
        "covered": [np.full_like(scene, 140)] * 8,
        "moved": [noisy(other, i) for i in range(8)],
    }[kind]
    started = feed(monitor, bad, start=40)
    assert started == [problem]
    assert not monitor.status.healthy
    feed(monitor, [noisy(scene, 100 + i) for i in range(2)], start=60)
    assert monitor.status.healthy


def test_reference_survives_a_restart(tmp_path: Path) -> None:
    scene = street_scene()
    feed(HealthMonitor(CFG, tmp_path / "ref.png"), [noisy(scene, i) for i in range(40)])
    again = HealthMonitor(CFG, tmp_path / "ref.png")
    assert again.reference is not None
    other = cv2.resize(cv2.imread(str(IMAGES / "bus.jpg")), scene.shape[1::-1])
    assert feed(again, [noisy(other, i) for i in range(8)]) == ["moved"]
