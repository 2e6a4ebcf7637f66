"""The box's detector sessions: one per distinct model settings, each with the evidence builder
that names its model in every case it files."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from streetwatch.contract import ModelRef
from streetwatch.edge.config import EdgeConfig, ModelConfig
from streetwatch.edge.evidence import EvidenceBuilder
from streetwatch.edge.privacy import PRIVACY_FILTERS
from streetwatch.inference.detector import Detector

if TYPE_CHECKING:
    from streetwatch.edge.plates import PlateReader
    from streetwatch.edge.privacy import PrivacyFilter


def open_detector(model: ModelConfig) -> Detector:
    """A detector for these settings, opened once; thresholds for classes the model lacks are
    ignored (`edge check` warns about them)."""
    return Detector(
        model.path,
        conf=model.conf,
        iou=model.iou,
        threads=model.threads,
        sha256=model.sha256,
        class_conf=model.class_conf,
        unknown_class_conf="ignore",
        runtime=model.runtime,
    )


def _privacy(name: str) -> PrivacyFilter | None:
    kind = PRIVACY_FILTERS[name]
    return None if kind is None else kind()


@dataclass(frozen=True)
class LoadedModel:
    """One detector session and the evidence builder that names it in every case it files."""

    key: str  # the model settings as JSON: cameras with equal settings share the session
    settings: ModelConfig
    detector: Detector
    evidence: EvidenceBuilder


class ModelPool:
    """Cameras with equal model settings share one session (a batch never mixes models)."""

    def __init__(self, config: EdgeConfig) -> None:
        self.config = config
        self.models: dict[str, LoadedModel] = {}
        self._plates: PlateReader | None = None

    def _reader(self) -> PlateReader:
        if self._plates is None:
            from streetwatch.edge.plates import PlateReader

            plates = self.config.plates
            self._plates = PlateReader(threads=plates.threads, min_confidence=plates.min_confidence)
        return self._plates

    def plate_reader(self) -> PlateReader | None:
        """The reader of parked vehicles' plates: when plates are read and some camera watches for parking."""
        parking = any(z.type == "no_parking" for c in self.config.cameras if c.enabled for z in c.zones)
        return self._reader() if self.config.plates.enabled and parking else None

    def plate_finder(self) -> PlateReader | None:
        """The plate finder of public copies (the same sessions as the reader: one per box)."""
        return self._reader() if self.config.storage.privacy_filter != "none" else None

    def load(self, settings: ModelConfig, detector: Detector | None = None) -> LoadedModel:
        """The session for `settings`, opened on first use; `detector` is used instead of opening
        one (tests and benchmarks share a session)."""
        key = settings.model_dump_json()
        if key not in self.models:
            detector = detector or open_detector(settings)
            info = detector.info
            config = self.config
            evidence = EvidenceBuilder(
                device_id=config.device.id,
                model=ModelRef(name=info.name[:100], version=str(info.version)[:50], sha256=info.sha256),
                names=detector.names,
                tz=ZoneInfo(config.calendar.timezone),
                jpeg_quality=config.storage.jpeg_quality,
                privacy=_privacy(config.storage.privacy_filter),
                plates=self.plate_reader(),
                plate_finder=self.plate_finder(),
            )
            self.models[key] = LoadedModel(key, settings, detector, evidence)
        return self.models[key]
