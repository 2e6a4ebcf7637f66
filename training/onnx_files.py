"""Small ONNX helpers shared by export, parity and quantisation: metadata and model input blobs."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from streetwatch.errors import InputError
from streetwatch.inference.letterbox import LetterboxGeometry, letterbox_to_blob


def set_metadata(path: Path, values: dict[str, str]) -> None:
    """Add or replace `metadata_props` entries of an ONNX file, in place (the one ONNX metadata writer)."""
    import onnx

    model = onnx.load(str(path))
    kept = [p for p in model.metadata_props if p.key not in values]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    for key, value in values.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(path))


def set_release_metadata(
    path: Path, *, name: str, version: str, description: str, taxonomy_version: str, names: dict[int, str] | None = None
) -> None:
    """Our keys beside ultralytics' (names, imgsz, stride, ...): what `ModelInfo` shows and the registry checks.

    ultralytics' own `description` names the data.yaml path of the training machine; ours replaces it.
    `names` replaces ultralytics' names when the release respells them (the teacher's `dining_table`).
    """
    values = {
        "model_name": name,
        "model_version": version,
        "description": description,
        "taxonomy_version": taxonomy_version,
    }
    if names is not None:
        values["names"] = str(names)
    set_metadata(path, values)


def read_metadata(path: Path) -> dict[str, str]:
    import onnx

    return {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}


def image_blob(path: Path, imgsz: tuple[int, int]) -> npt.NDArray[np.float32]:
    """(1, 3, h, w) float32 RGB in [0, 1], letterboxed exactly as the edge Detector feeds the model."""
    frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if frame is None:
        raise InputError(f"{path}: not a readable image")
    blob = np.empty((1, 3, *imgsz), dtype=np.float32)
    letterbox_to_blob(frame, blob[0], LetterboxGeometry.compute(frame.shape[:2], imgsz), pad=True)
    return blob
