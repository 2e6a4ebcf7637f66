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


# Per data-set source, by the source name the dataset recipes use (image files are named
# `<source>__...`, so a release can tell which sources its training data drew on).
# `licence` says, in plain words, what the licence means for using a model trained on it.
SOURCE_ATTRIBUTIONS: dict[str, Attribution] = {
    "garbage-cn": Attribution(
        what="garbage, garbage_bin, bin_overflow images and labels (garbage-cn)",
        source='Roboflow Universe project "公开数据集111" v2, via GitHub ATANU0023/garbage_detection_dataset',
        licence="CC BY 4.0",
        url="https://github.com/ATANU0023/garbage_detection_dataset",
    ),
    "fire-smoke": Attribution(
        what="fire and smoke frames and labels (fire-smoke)",
        source="Roboflow Universe custom-thxhn/fire-wrpgm v8, via GitHub Abonia1/YOLOv8-Fire-and-Smoke-Detection",
        licence="CC BY 4.0",
        url="https://github.com/Abonia1/YOLOv8-Fire-and-Smoke-Detection",
    ),
    "joabe": Attribution(
        what="fire and smoke photos and labels (joabe)",
        source="Roboflow Universe 'smokeandfire' v2 (workspace detection-e83li), "
        "via GitHub JoabeConrado19/fire-detection",
        licence="CC BY 4.0: use, share and adapt, commercially too, with attribution",
        url="https://github.com/JoabeConrado19/fire-detection",
    ),
    "cjay": Attribution(
        what="fire photos and fire labels (cjay; smoke there is machine-labelled)",
        source="GitHub CJAY-art/yolov5-fire-master; upstream gengyanlei/fire-smoke-detect-yolov4 ('VOC2020' fire set)",
        licence="none stated in the repository; its upstream says the data is for academic exploration only. "
        "A model trained on it is fit for research and evaluation only: do not deploy it in production or "
        "commercially until the rights are cleared with the upstream authors (unverified who holds them)",
        url="https://github.com/CJAY-art/yolov5-fire-master",
    ),
    "liuzifan": Attribution(
        what="fire and smoke photos and labels (liuzifan)",
        source="GitHub liuzifan/fire_smoke_datasets",
        licence="none stated: no permission is granted by default (all rights reserved). A model trained on it "
        "is fit for research and evaluation only until the rights are cleared",
        url="https://github.com/liuzifan/fire_smoke_datasets",
    ),
}

DATA_ATTRIBUTIONS: tuple[Attribution, ...] = (SOURCE_ATTRIBUTIONS["garbage-cn"], SOURCE_ATTRIBUTIONS["fire-smoke"])
RESTRICTED_SOURCES = frozenset({"cjay", "liuzifan"})  # no licence that permits use beyond research


def attributions_for(sources: set[str]) -> tuple[Attribution, ...]:
    """The attributions of the sources a model was trained on (unknown names: the v1 pair, as before)."""
    known = [SOURCE_ATTRIBUTIONS[s] for s in SOURCE_ATTRIBUTIONS if s in sources]
    return tuple(known) or DATA_ATTRIBUTIONS


def model_licence(sources: set[str]) -> str:
    """The licence statement of a model trained on `sources`, in plain words."""
    restricted = sorted(sources & RESTRICTED_SOURCES)
    if not restricted:
        return MODEL_LICENCE
    return (
        MODEL_LICENCE + " RESTRICTED USE: the training data includes " + ", ".join(restricted) + ", whose "
        "licence does not permit use beyond research (see Data below). Use this model for research and "
        "evaluation only until those rights are cleared, or retrain without those sources."
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
