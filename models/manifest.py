"""The release manifest: the one typed contract from the ML team to the edge (`models/releases/<name>/manifest.json`).

Every release, trained here (`streetwatch export`) or rebuilt from someone else's weights
(`streetwatch teacher release`), is described by one `ReleaseManifest`:

  files        the ONNX files with their sha256 (the first is the primary, fp32, model)
  classes, imgsz, stride, taxonomy_version   what the engine needs to run the primary file
  thresholds   optional per-class operating confidence (class -> conf), for Detector/edge defaults
  metrics      evaluation of the primary file on held-out data (None when nothing was evaluated)
  data_sources licence and attribution of the data the weights learned from (optional)
  provenance   how the weights came to be: `trained` (data hash, training record, ONNX parity,
               INT8 gate) or `rebuilt` (source file, rebuild checks, parity, agreement figures)

Unknown keys are errors (`extra="forbid"`): a field added on one side and not the other is caught
when the manifest is read, not when a figure goes missing from a model card.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator, model_validator

from streetwatch.errors import ModelError

MANIFEST_FILE = "manifest.json"
MANIFEST_SCHEMA = 1

Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# -- evaluation ------------------------------------------------------------------------------------
class SourceMetrics(_Strict):
    images: int = Field(ge=0)
    instances: dict[str, int]
    map50: dict[str, float]


class ClassMetrics(_Strict):
    instances: int = Field(ge=0)
    precision: float
    recall: float
    map50: float
    map50_95: float


class Evaluation(_Strict):
    """`streetwatch eval` of one file on a held-out split (P/R at the max-F1 confidence, as ultralytics)."""

    split: str
    images: int = Field(ge=0)
    operating_conf: Fraction
    map50: float
    map50_95: float
    precision: float
    recall: float
    per_class: dict[str, ClassMetrics]
    false_alarm_rate: float
    negative_images: int = Field(ge=0)
    per_source: dict[str, SourceMetrics] | None = Field(
        default=None,
        description="mAP50 per class on each source's images of the split (None: the data names no sources)",
    )


# -- files and attribution -------------------------------------------------------------------------
class ModelFile(_Strict):
    file: str = Field(min_length=1, description="file name inside the release folder")
    sha256: Sha256
    precision: Literal["fp32", "int8"] = "fp32"
    size_bytes: int | None = Field(default=None, ge=0)
    metrics: Evaluation | None = None


class FileRef(_Strict):
    file: str
    sha256: Sha256


class Attribution(_Strict):
    what: str
    source: str
    licence: str
    url: str | None = None


# -- provenance: trained here ------------------------------------------------------------------------
class OnnxParity(_Strict):
    """ONNX vs PyTorch raw outputs on real images (`training/parity.py`)."""

    images: int
    max_box_diff_px: float
    max_score_diff: float
    box_atol_px: float
    score_atol: float
    passed: bool


class Int8Attempt(_Strict):
    plan: str
    fp32_map50: float
    int8_map50: float
    drop: float
    max_drop: float
    accepted: bool


class Int8Report(_Strict):
    calibration_images: int
    attempts: list[Int8Attempt]
    accepted: bool


class DataRecord(_Strict):
    sha256: Sha256 = Field(description="over data.yaml's names and every image and label file (training/data_files.py)")
    content_sha256: Sha256 | None = Field(
        default=None,
        description="the data set's own content hash (`content_sha256` of the manifest.json beside data.yaml, "
        "as `streetwatch data build` prints it); None when the data set ships no manifest",
    )
    manifest_file: str | None = None
    manifest_sha256: Sha256 | None = None
    images: dict[str, int]
    boxes: dict[str, int]


class BaseCheckpoint(_Strict):
    path: str | None = None
    sha256: Sha256 | None = None


class TrainingRecord(_Strict):
    """What `streetwatch train` recorded (free-form where it mirrors ultralytics' own arguments)."""

    config: dict[str, Any]
    seed: int | None = None
    recipe: dict[str, Any] | None = None
    base: BaseCheckpoint
    versions: dict[str, str]
    checkpoint: str
    evaluation_plots: str | None = None


class Trained(_Strict):
    kind: Literal["trained"] = "trained"
    data: DataRecord
    training: TrainingRecord
    base_weights: Attribution
    parity: OnnxParity
    int8: Int8Report | None = None


# -- provenance: rebuilt from someone else's weights ----------------------------------------------------
class RawDiff(_Strict):
    """Raw-output agreement of two models over images (worst image for max and min, mean for mean_cosine)."""

    images: int
    max_abs_box_px: float  # max |xywh difference| in input pixels, over every anchor
    max_abs_score: float  # max |class score difference|, over every anchor and class
    min_cosine: float  # cosine similarity of the whole (84, A) output, worst image
    mean_cosine: float


class DetectionMatch(_Strict):
    iou: float
    conf: float
    a_boxes: int
    b_boxes: int
    matched: int
    precision: float
    recall: float


class RebuildParity(_Strict):
    images: list[str]
    pt_vs_float_tflite: RawDiff
    pt_vs_interpreter: RawDiff
    float_tflite_vs_interpreter: RawDiff
    onnx_vs_pt: RawDiff
    train_vs_eval_error: float
    train_vs_eval_error_identity_bn: float
    detections_pt_vs_float_tflite: DetectionMatch
    detections_pt_vs_interpreter: DetectionMatch


class AgreementRow(_Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    class_name: str = Field(alias="class")
    ours: int
    yolox: int
    matched: int
    precision: float
    recall: float


class ReferenceAgreement(_Strict):
    """Agreement with an independent detector (YOLOX-Nano) on unlabelled street images."""

    images: int
    source: str
    conf: float
    iou: float
    ours: list[AgreementRow]
    baseline_tflite_interpreter: list[AgreementRow] | None = None


class SourceWeights(_Strict):
    file: str
    sha256: Sha256
    exported_by: str
    origin: str
    convs: int
    int8_convs: int
    bn_calibration_images: int
    eval_change_after_bn_calibration: float


class Rebuilt(_Strict):
    kind: Literal["rebuilt"] = "rebuilt"
    source: SourceWeights
    checkpoint: FileRef
    training_data: str = Field(description="what the source weights were trained on, by whom")
    parity: RebuildParity
    agreement: ReferenceAgreement


Provenance = Annotated[Trained | Rebuilt, Field(discriminator="kind")]


# -- the manifest --------------------------------------------------------------------------------------
class ReleaseManifest(_Strict):
    schema_version: Literal[1] = MANIFEST_SCHEMA
    name: str = Field(min_length=1)
    version: str = Field(min_length=1)
    created_at: datetime
    files: list[ModelFile] = Field(min_length=1, description="the first is the primary (fp32) model")
    classes: list[str] = Field(min_length=1)
    taxonomy_version: str
    imgsz: tuple[int, int] = Field(description="model input (h, w)")
    stride: int = Field(gt=0)
    task: Literal["detect"] = "detect"
    layout: str | None = Field(default=None, description="output layout of the primary file, in words")
    thresholds: dict[str, Fraction] | None = Field(
        default=None, description="per-class operating confidence (class -> conf); None: the caller's own"
    )
    metrics: Evaluation | None = Field(default=None, description="evaluation of the primary file")
    licence: str
    data_sources: list[Attribution] | None = None
    provenance: Provenance
    command: str | None = Field(default=None, description="the command that rebuilds this release")

    @field_validator("created_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("created_at must carry a time zone (UTC), e.g. 2026-11-24T01:00:01Z")
        return value.astimezone(UTC)

    @model_validator(mode="after")
    def _consistent(self) -> ReleaseManifest:
        if self.files[0].precision != "fp32":
            raise ValueError(f"files[0] must be the fp32 model, got {self.files[0].precision}")
        names = [f.file for f in self.files]
        if len(set(names)) != len(names):
            raise ValueError(f"files lists a file twice: {names}")
        unknown = sorted(set(self.thresholds or {}) - set(self.classes))
        if unknown:
            raise ValueError(f"thresholds name classes the model does not have: {', '.join(unknown)}")
        return self

    @property
    def primary(self) -> ModelFile:
        return self.files[0]

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json", by_alias=True), indent=2, ensure_ascii=False) + "\n"


def _field_errors(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False):
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def parse_manifest(data: dict[str, Any], source: str = MANIFEST_FILE) -> ReleaseManifest:
    """A manifest from its JSON object; a ModelError naming `source` and every bad field otherwise."""
    try:
        return ReleaseManifest.model_validate(data)
    except ValidationError as exc:
        raise ModelError(f"{source}: not a valid release manifest: {_field_errors(exc)}") from None


def read_manifest(path: Path) -> ReleaseManifest:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ModelError(f"{path}: cannot read the release manifest ({exc.strerror})") from None
    except json.JSONDecodeError as exc:
        raise ModelError(f"{path}: invalid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ModelError(f"{path}: expected a JSON object, got {type(data).__name__}")
    return parse_manifest(data, str(path))


def write_manifest(folder: Path, manifest: ReleaseManifest) -> Path:
    """The one writer of `manifest.json` (UTF-8, indented, keys in model order)."""
    path = folder / MANIFEST_FILE
    path.write_text(manifest.to_json(), encoding="utf-8")
    return path
