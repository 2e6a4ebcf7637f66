"""Checkpoints are loaded without running their code: a hostile .pt is refused before it runs."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("ultralytics")

from streetwatch.errors import InputError  # noqa: E402
from streetwatch.training.checkpoints import load_checkpoint  # noqa: E402

SHIPPED = Path(__file__).resolve().parents[2] / "models" / "releases" / "coco-teacher" / "yolov8n-coco.pt"


class Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # what an attacker's pickle does: call os.system on load
        import os

        return (os.system, (f"touch {self.marker}",))


def hostile_checkpoint(path: Path, marker: Path) -> Path:
    torch.save({"model": None, "epoch": 1}, path)  # a real torch zip layout ...
    with zipfile.ZipFile(path) as original:
        entries = {info.filename: original.read(info.filename) for info in original.infolist()}
    data_pkl = next(name for name in entries if name.endswith("data.pkl"))
    entries[data_pkl] = pickle.dumps({"model": Payload(marker), "epoch": 1}, protocol=2)  # ... with a poisoned pickle
    with zipfile.ZipFile(path, "w") as poisoned:
        for name, data in entries.items():
            poisoned.writestr(name, data)
    return path


def test_the_shipped_teacher_checkpoint_loads() -> None:
    from streetwatch.training.ultralytics_env import prepare_ultralytics

    prepare_ultralytics()
    ckpt = load_checkpoint(SHIPPED)
    assert type(ckpt["model"]).__name__ == "DetectionModel"


def test_a_checkpoint_that_runs_code_is_refused_before_it_runs(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = hostile_checkpoint(tmp_path / "evil.pt", marker)
    with pytest.raises(InputError, match=r"os\.system|posix\.system"):
        load_checkpoint(path)
    assert not marker.exists()


def test_the_old_unsafe_load_would_have_run_it(tmp_path: Path) -> None:
    """The attack is real: what `weights_only=False` (the earlier code) does with the same file."""
    marker = tmp_path / "pwned"
    path = hostile_checkpoint(tmp_path / "evil.pt", marker)
    torch.load(path, map_location="cpu", weights_only=False)
    assert marker.exists()
