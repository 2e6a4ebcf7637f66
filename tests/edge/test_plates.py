"""Plate numbers: the Chinese formats, and the real PP-OCRv4 reader on the plate fixture
(real garbage-cn car crops whose plates nobody can read, the same cars with drawn plates, and real
HyperLPR photos with hand-read plates)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from streetwatch.plate_format import PlateKind, parse_plate

FIXTURE = Path(__file__).resolve().parents[1] / "data" / "plates"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("粤B12345", ("粤B12345", PlateKind.REGULAR)),
        ("粤B·12345", ("粤B12345", PlateKind.REGULAR)),  # the dot printed on plates
        ("京a 1234警", ("京A1234警", PlateKind.REGULAR)),
        ("沪AO1I23", ("沪A01123", PlateKind.REGULAR)),  # O and I are never plate letters
        ("粤BD12345", ("粤BD12345", PlateKind.NEW_ENERGY)),  # small new-energy car
        ("粤B12345F", ("粤B12345F", PlateKind.NEW_ENERGY)),  # large new-energy vehicle
        ("粤B1234", None),  # one short
        ("粤B123456", None),  # 8 characters but not a new-energy layout
        ("使123456", None),  # embassy plates: not supported
        ("WJ12345", None),  # armed police: not supported
        ("AB12345", None),  # no province
        ("港B12345", None),  # 港 only as the last character
    ],
)
def test_plate_formats(text: str, expected: tuple[str, PlateKind] | None) -> None:
    assert parse_plate(text) == expected


@pytest.fixture(scope="module")
def reader():  # -> PlateReader
    from streetwatch.edge.plates import PlateReader

    return PlateReader(threads=1)


@pytest.fixture(scope="module")
def labels() -> list[dict]:
    return yaml.safe_load((FIXTURE / "labels.yaml").read_text(encoding="utf-8"))


def _whole(image: np.ndarray) -> tuple[float, float, float, float]:
    return (0.0, 0.0, float(image.shape[1]), float(image.shape[0]))


def test_rapidocr_brings_its_models() -> None:
    import rapidocr_onnxruntime

    models = Path(rapidocr_onnxruntime.__file__).parent / "models"
    assert (models / "ch_PP-OCRv4_det_infer.onnx").stat().st_size > 1_000_000
    assert (models / "ch_PP-OCRv4_rec_infer.onnx").stat().st_size > 1_000_000


@pytest.mark.slow
def test_reader_on_the_fixture_never_guesses(reader, labels: list[dict]) -> None:
    read = wrong = 0
    legible = [row for row in labels if row["text"] is not None]
    for row in labels:
        image = cv2.imread(str(FIXTURE / row["file"]))
        result = reader.read(image, _whole(image))
        if row["text"] is None:
            assert not result.read, f"{row['file']}: read {result.text!r} on a plate nobody can read"
            continue
        if result.read:
            read += 1
            wrong += result.text != row["text"]
            assert result.confidence is not None and result.confidence >= reader.min_confidence
            x1, y1, x2, y2 = result.box
            assert 0 <= x1 < x2 <= image.shape[1] and 0 <= y1 < y2 <= image.shape[0]
    assert len(legible) >= 12 and len([r for r in labels if r["text"] is None]) >= 8
    assert read >= 0.7 * len(legible), f"read {read} of {len(legible)} legible plates"
    assert wrong == 0, f"{wrong} of {read} reads were wrong"


@pytest.mark.slow
def test_reader_on_real_plates_reads_exactly_or_not_at_all(reader, labels: list[dict]) -> None:
    """Real photos (HyperLPR) with plates read by hand: the reader gives the hand-read text or unread."""
    real = [row for row in labels if row.get("real") and row["file"].startswith("hyperlpr-")]
    assert len([row for row in real if row["text"] is not None]) >= 2, "real legible plates missing from labels"
    for row in real:
        image = cv2.imread(str(FIXTURE / row["file"]))
        result = reader.read(image, _whole(image))
        if result.read:
            assert result.text == row["text"], f"{row['file']}: read {result.text!r}, hand-read {row['text']!r}"
