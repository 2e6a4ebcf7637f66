"""Training configuration: one pydantic model, saved with every run so a run can be repeated."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from streetwatch.training.recipes import DEFAULT_RECIPE, RECIPES


class TrainConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    data: Path = Field(description="ultralytics data.yaml (absolute `path:`)")
    base: str = Field(
        description="base weights: a .pt checkpoint (fine-tune; all but the class layer transfer), "
        "a release's yolov8n ONNX (rebuilt as a checkpoint, see training/from_onnx.py), "
        "or a model YAML such as yolov8n.yaml (from scratch)"
    )
    epochs: int = Field(gt=0, le=10_000)
    imgsz: int = Field(default=320, ge=32, le=2048, description="square training size, a multiple of 32")
    batch: int = Field(default=16, gt=0)
    seed: int = Field(default=0, ge=0)
    recipe: str = Field(default=DEFAULT_RECIPE, description="augmentation recipe in streetwatch.training.recipes")
    project: Path = Field(default=Path("runs/train"), description="folder that holds run folders")
    name: str = Field(default="street", min_length=1)
    workers: int = Field(default=2, ge=0)
    device: str = Field(default="cpu", description="'cpu', a GPU index '0', or several '0,1' (DDP)")
    time: float | None = Field(
        default=None,
        gt=0,
        description="wall-time budget in hours: ultralytics fits the epoch count (and LR schedule) to it",
    )
    patience: int = Field(default=50, ge=0)
    close_mosaic: int = Field(default=10, ge=0)
    warmup_epochs: float = Field(default=3.0, ge=0, description="LR warm-up; 1 suits short fine-tunes")
    lr0: float | None = Field(default=None, gt=0, description="initial learning rate (ultralytics default if unset)")
    optimizer: str = Field(default="auto")
    cache: bool = Field(default=False, description="cache decoded images in RAM")
    fraction: float = Field(default=1.0, gt=0, le=1.0, description="fraction of the train split to use")
    val: bool = Field(default=True, description="validate after every epoch (keeps best.pt meaningful)")
    plots: bool = Field(default=True)

    @field_validator("imgsz")
    @classmethod
    def _multiple_of_32(cls, value: int) -> int:
        if value % 32:
            raise ValueError(f"imgsz must be a multiple of 32 (the model stride), got {value}")
        return value

    @field_validator("recipe")
    @classmethod
    def _known_recipe(cls, value: str) -> str:
        if value not in RECIPES:
            raise ValueError(f"unknown recipe {value!r}; expected one of {', '.join(RECIPES)}")
        return value

    @field_validator("base")
    @classmethod
    def _base_is_local(cls, value: str) -> str:
        # A bare 'yolov8n.pt' makes ultralytics download weights: refuse anything but a local file or a YAML.
        if value.endswith((".yaml", ".yml")):
            return value
        if not Path(value).is_file():
            raise ValueError(f"base weights not found: {value} (expected a local .pt or .onnx file or a model .yaml)")
        return value
