"""Licences and attribution that every release carries (sources: ../shared/data/SOURCES.md)."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Attribution:
    what: str
    source: str
    licence: str
    url: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


DATA_ATTRIBUTIONS: tuple[Attribution, ...] = (
    Attribution(
        what="garbage, garbage_bin, bin_overflow images and labels (garbage-cn)",
        source='Roboflow Universe project "公开数据集111" v2, via GitHub ATANU0023/garbage_detection_dataset',
        licence="CC BY 4.0",
        url="https://github.com/ATANU0023/garbage_detection_dataset",
    ),
    Attribution(
        what="fire and smoke frames and labels (fire-smoke)",
        source="Roboflow Universe custom-thxhn/fire-wrpgm v8, via GitHub Abonia1/YOLOv8-Fire-and-Smoke-Detection",
        licence="CC BY 4.0",
        url="https://github.com/Abonia1/YOLOv8-Fire-and-Smoke-Detection",
    ),
)

BASE_ATTRIBUTION = Attribution(
    what="base weights: Ultralytics YOLOv8n trained on COCO (rebuilt from its TFLite export); also the "
    "teacher of the person/vehicle/umbrella/dining_table pseudo-labels",
    source="Ultralytics YOLOv8n COCO weights, via GitHub omenxuinsgd/yolo8n_tflite",
    licence="AGPL-3.0",
    url="https://github.com/ultralytics/ultralytics",
)

MODEL_LICENCE = (
    "AGPL-3.0 (a derivative of Ultralytics YOLOv8n weights). Training data under CC BY 4.0: "
    "attribute the sources listed in this card when redistributing the model."
)
