"""The case-filing contract between edge boxes and the case service (DESIGN.md, "Contracts").

`POST /api/v1/cases`, multipart/form-data:
  - part `case`: a JSON `CaseReport` (this module)
  - one part `evidence` per JPEG; the server hashes each part and matches it to the `evidence`
    list by sha256 (a file without an entry, or an entry without a file, is a 422)
  - at most one part `clip`: the MP4 that `clip` describes (H.264/H.265 remuxed from the camera's
    own packets); a part without `clip`, or `clip` without a part, is a 422
  - headers: `Idempotency-Key: <event_id>`, `Authorization: Bearer <device token>`
Responses: 201 new case, 200 same key replayed with the same body, 409 same key with another
body, 4xx with a JSON `{"detail": ...}` saying which field was wrong and why.

Both sides import these models, so the contract cannot drift between them. This module needs
only pydantic: the case service knows nothing of models, the edge box nothing of the server.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    model_validator,
)

from streetwatch.models.taxonomy import CLASS_NAMES, ViolationType
from streetwatch.plate_format import PLATE_PATTERN, PlateKind

API_PREFIX = "/api/v1"
IDEMPOTENCY_HEADER = "Idempotency-Key"

Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
Identifier = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]

# Bounds on every number and date, so that no value a client sends can overflow a database column,
# a datetime conversion or an image coordinate (the service answers 422, never 500).
MAX_FRAME_SIDE = 100_000  # pixels; far beyond any camera, far below any integer column's limit
MAX_TRACKER_ID = 2**63 - 1  # a signed 64-bit integer
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)  # no case predates the product; rules out year-1 overflows
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
# A case's times against the receiving server's clock (checked when a `now` is given in the
# validation context): an edge box may hold cases offline for a long time, and its clock may
# run somewhat ahead, but not by days.
MAX_AGE = timedelta(days=400)
MAX_AHEAD = timedelta(days=1)


def no_nul(value: str) -> str:
    """NUL is not text: PostgreSQL refuses it in any string, and no field needs it."""
    if "\x00" in value:
        raise ValueError("must not contain NUL (\\x00) characters")
    return value


def bounded_utc(value: datetime) -> datetime:
    """An aware datetime that converts to UTC without overflow, between 2000 and 2200."""
    try:
        utc = value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ValueError(f"{value.isoformat()} is out of range when converted to UTC") from None
    if not EARLIEST <= utc < LATEST:
        raise ValueError(f"must be between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d} (UTC); got {utc.isoformat()}")
    return value


def plausible(value: datetime, info: ValidationInfo) -> datetime:
    """Within MAX_AGE before and MAX_AHEAD after the receiver's clock, when it says what time it is."""
    now = (info.context or {}).get("now") if isinstance(info.context, dict) else None
    if now is not None and not (now - MAX_AGE <= value <= now + MAX_AHEAD):
        raise ValueError(
            f"must be within {MAX_AGE.days} days before and {MAX_AHEAD.days} day after the server's clock "
            f"({utc_iso(now)}); got {utc_iso(value)} (is the edge box's clock set?)"
        )
    return value


Text = Annotated[str, AfterValidator(no_nul)]
Timestamp = Annotated[AwareDatetime, AfterValidator(bounded_utc), AfterValidator(plausible)]
FrameSide = Annotated[int, Field(ge=1, le=MAX_FRAME_SIDE)]
Coordinate = Annotated[float, Field(ge=0, le=MAX_FRAME_SIDE)]


class EvidenceRole(StrEnum):
    """Each case carries the first-seen and the confirmation frame, annotated and clean."""

    FIRST_SEEN = "first_seen"  # boxes, zone and timestamp drawn
    FIRST_SEEN_CLEAN = "first_seen_clean"
    CONFIRMATION = "confirmation"
    CONFIRMATION_CLEAN = "confirmation_clean"
    PLATE = "plate"  # the parked vehicle's plate, cut from the frame it was read on (`PlateReport.frame`)


class PlateStatus(StrEnum):
    READ = "read"  # a supported plate number, read at or above the box's confidence threshold
    UNREAD = "unread"  # no plate number that could be trusted: never a guess


class _Strict(BaseModel):
    # NaN and ±Infinity are refused everywhere: they pass every range check by comparing false.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Location(_Strict):
    lat: float = Field(ge=-90, le=90, description="WGS-84 latitude")
    lon: float = Field(ge=-180, le=180, description="WGS-84 longitude")
    address: Text | None = Field(default=None, max_length=300, description="street address as inspectors know it")
    grid_code: Text | None = Field(default=None, max_length=64, description="city-management grid cell (单元网格) code")


class DetectionRecord(_Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False)

    class_name: str = Field(alias="class", max_length=64, description="taxonomy class name")
    confidence: float = Field(ge=0, le=1)
    box: tuple[Coordinate, Coordinate, Coordinate, Coordinate] = Field(
        description="x1, y1, x2, y2 in source-frame pixels, within frame_size when the case gives it"
    )
    tracker_id: int | None = Field(default=None, ge=0, le=MAX_TRACKER_ID)

    @model_validator(mode="after")
    def _check(self) -> DetectionRecord:
        if self.class_name not in CLASS_NAMES:
            raise ValueError(f"class must be one of {', '.join(CLASS_NAMES)}; got {self.class_name!r}")
        x1, y1, x2, y2 = self.box
        if not (x2 >= x1 and y2 >= y1 and x1 >= 0 and y1 >= 0):
            raise ValueError(f"box must be x1 <= x2, y1 <= y2, non-negative; got {list(self.box)}")
        return self


class ModelRef(_Strict):
    name: Text = Field(min_length=1, max_length=100)
    version: Text = Field(min_length=1, max_length=50)
    sha256: Sha256


class EvidenceRef(_Strict):
    role: EvidenceRole
    sha256: Sha256 = Field(description="sha256 of the JPEG part uploaded with the case")
    public_sha256: Sha256 | None = Field(
        default=None,
        description="sha256 of this frame's public copy (people and other plates hidden), uploaded as another "
        "`evidence` part; the only version of the frame the case service shows to anyone but reviewers",
    )
    content_type: str = Field(default="image/jpeg", pattern=r"^image/jpeg$")
    captured_at: Timestamp | None = Field(default=None, description="when the frame was taken (UTC)")


PlateText = Annotated[str, StringConstraints(pattern=PLATE_PATTERN, max_length=8)]


class PlateReport(_Strict):
    """The parked vehicle's plate as the edge box read it (parking cases only).

    `read`: `text` is a supported Chinese plate number (normalised, `streetwatch.plate_format`) and
    `confidence` the recogniser's score. `unread`: `text` and `kind` are null; `confidence` and
    `box` may say what was found (a plate-like box, a low-confidence number) for the reviewer.
    `frame`/`box` are null when the plate was found on a view of the vehicle during its dwell that
    is not one of the case's frames (the `plate` crop is then all there is of it)."""

    status: PlateStatus
    text: PlateText | None = None
    kind: PlateKind | None = None
    confidence: float | None = Field(default=None, ge=0, le=1, description="recogniser score, 0..1")
    frame: EvidenceRole | None = Field(
        default=None, description="the clean frame the plate was found on (first_seen_clean or confirmation_clean)"
    )
    box: tuple[Coordinate, Coordinate, Coordinate, Coordinate] | None = Field(
        default=None, description="x1, y1, x2, y2 of the plate in that frame's pixels"
    )

    @model_validator(mode="after")
    def _check(self) -> PlateReport:
        if self.status is PlateStatus.READ and (self.text is None or self.kind is None or self.confidence is None):
            raise ValueError("a read plate needs text, kind and confidence")
        if self.status is PlateStatus.UNREAD and (self.text is not None or self.kind is not None):
            raise ValueError("an unread plate has no text and no kind (unread is never a guess)")
        if self.frame not in (None, EvidenceRole.FIRST_SEEN_CLEAN, EvidenceRole.CONFIRMATION_CLEAN):
            raise ValueError(f"frame must be first_seen_clean or confirmation_clean; got {self.frame}")
        if (self.box is None) != (self.frame is None):
            raise ValueError("box and frame go together: the box is in that frame's pixels")
        if self.box is not None:
            x1, y1, x2, y2 = self.box
            if not (x2 > x1 and y2 > y1):
                raise ValueError(f"box must be x1 < x2, y1 < y2; got {list(self.box)}")
        return self


MAX_CLIP_S = 3600.0  # an hour: far beyond any rule's dwell plus margins, bounded for every column


class ClipRef(_Strict):
    """The case's video clip: sent as the `clip` part, stored beside the stills, shown to reviewers only
    (it has every face and plate the camera saw)."""

    sha256: Sha256 = Field(description="sha256 of the MP4 part")
    content_type: str = Field(default="video/mp4", pattern=r"^video/mp4$")
    codec: Literal["h264", "hevc"] = Field(description="the camera's codec, copied without re-encoding")
    width: FrameSide
    height: FrameSide
    starts_at: Timestamp = Field(description="wall time of the clip's first frame (a keyframe), UTC")
    duration_s: float = Field(gt=0, le=MAX_CLIP_S)


class CaseReport(_Strict):
    """One confirmed violation, as an edge box files it."""

    event_id: UUID = Field(description="unique per violation event; also the Idempotency-Key")
    device_id: Identifier
    camera_id: Identifier
    violation_type: ViolationType
    standard_code: Text = Field(
        min_length=1,
        max_length=32,
        description="the code the box is configured with; the case service picks the case's event code itself "
        "(its city code table) and keeps this one for the audit",
    )
    first_seen: Timestamp
    confirmed_at: Timestamp
    zone_id: Identifier
    zone_kind: Identifier | None = Field(
        default=None, description="how the city classes the zone's place (e.g. shop_front, street_food)"
    )
    location: Location
    detections: list[DetectionRecord] = Field(max_length=200)
    model: ModelRef
    evidence: list[EvidenceRef] = Field(min_length=1, max_length=8)
    urgent: bool = Field(default=False, description="open burning: dispatch without waiting for the queue")
    frame_size: tuple[FrameSide, FrameSide] | None = Field(default=None, description="source frame (width, height)")
    plate: PlateReport | None = Field(
        default=None, description="parking cases: the parked vehicle's plate (null: not read for this case)"
    )
    clip: ClipRef | None = Field(default=None, description="an MP4 from before first seen to after the confirmation")

    @model_validator(mode="after")
    def _check(self) -> CaseReport:
        if self.confirmed_at < self.first_seen:
            raise ValueError("confirmed_at must not be before first_seen")
        roles = [e.role for e in self.evidence]
        if len(set(roles)) != len(roles):
            raise ValueError("evidence roles must be unique")
        if any(e.public_sha256 is not None and e.role is EvidenceRole.PLATE for e in self.evidence):
            raise ValueError("the plate crop has no public copy (it is shown to reviewers only)")
        self._check_plate(set(roles))
        if self.frame_size is not None:
            width, height = self.frame_size
            if (
                self.plate is not None
                and self.plate.box is not None
                and (self.plate.box[2] > width or self.plate.box[3] > height)
            ):
                raise ValueError(f"plate.box {list(self.plate.box)} reaches outside the frame ({width}x{height})")
            for index, detection in enumerate(self.detections):
                _, _, x2, y2 = detection.box
                if x2 > width or y2 > height:
                    raise ValueError(
                        f"detections[{index}].box {list(detection.box)} reaches outside the frame "
                        f"({width}x{height}); boxes are in source-frame pixels"
                    )
        return self

    def _check_plate(self, roles: set[EvidenceRole]) -> None:
        if EvidenceRole.PLATE in roles and self.plate is None:
            raise ValueError("a plate image needs case.plate (what was read on it)")
        if self.plate is None:
            return
        if self.violation_type is not ViolationType.ILLEGAL_PARKING:
            raise ValueError(f"plate is for illegal_parking cases; this is {self.violation_type.value}")
        if self.plate.frame is not None and self.plate.frame not in roles:
            raise ValueError(f"plate.frame {self.plate.frame.value} is not among the evidence roles")


@dataclass(frozen=True)
class EvidenceImage:
    """One `evidence` part: the JPEG bytes and the sha256 its `EvidenceRef` names."""

    role: EvidenceRole
    jpeg: bytes
    sha256: str
    public: bool = False  # the public copy of the `role` frame (its `EvidenceRef.public_sha256`)


@dataclass(frozen=True)
class CaseBundle:
    """One filing as the edge box stores and sends it: the `case` part and its `evidence` parts."""

    report: CaseReport
    images: list[EvidenceImage]


def utc_iso(moment: datetime) -> str:
    """ISO-8601 in UTC with a Z suffix, as the contract writes timestamps."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
