"""The edge agent's configuration: one YAML file, checked field by field, errors with line numbers.

    config = load_config(Path("edge.yaml"))   # ConfigError listing every problem with its line

Times in `rules` are real seconds multiplied by `rules.time_scale` (1.0 in production; a demo on
accelerated video may use 0.1 to make a 300 s dwell last 30 s). Schedules and camera health are
wall-clock matters and are never scaled.
"""

from __future__ import annotations

import math
import os
import re
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    ValidationInfo,
    create_model,
    field_validator,
    model_serializer,
    model_validator,
)

from streetwatch.contract import MAX_FRAME_SIDE, FrameSide, Identifier, Location
from streetwatch.edge.yaml_lines import load_with_lines
from streetwatch.errors import ConfigError
from streetwatch.inference.runtime_names import RuntimeChoice
from streetwatch.models.taxonomy import CLASS_NAMES, STALL, STALL_PROXY_CLASSES, ViolationType


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldProblem(ValueError):
    """A model-level check's finding about one field, `loc` relative to the checked model.

    pydantic reports a model validator's error at the model itself; `parse_config` reads `loc` from
    this exception (pydantic keeps it in the error's context) to report the problem at the field's
    own line. `str()` still names the field, for readers of a plain `ValidationError`.
    """

    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        super().__init__(f"{_dotted(list(loc))}: {message}")
        self.loc, self.message = loc, message


Seconds = Annotated[float, Field(ge=0)]


class ZoneType(StrEnum):
    NO_PARKING = "no_parking"
    NO_VENDING = "no_vending"
    GARBAGE_WATCH = "garbage_watch"
    BURNING_WATCH = "burning_watch"


VIOLATION_OF_ZONE: dict[ZoneType, ViolationType] = {
    ZoneType.NO_PARKING: ViolationType.ILLEGAL_PARKING,
    ZoneType.NO_VENDING: ViolationType.OCCUPIED_LANE_VENDING,
    ZoneType.GARBAGE_WATCH: ViolationType.EXPOSED_GARBAGE,
    ZoneType.BURNING_WATCH: ViolationType.OPEN_BURNING,
}

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")


# -- device, model ---------------------------------------------------------------------------------
class DeviceConfig(_Model):
    id: Identifier = Field(description="this edge box's id, as registered with the case service")
    token: str | None = Field(default=None, min_length=8, description="device bearer token (or use token_env)")
    token_env: str | None = Field(
        default=None, description="name of an environment variable holding the token (keeps secrets out of the file)"
    )
    case_service_url: str = Field(
        pattern=r"^https?://", description="base URL of the case service, e.g. https://cases.city.example"
    )
    request_timeout_s: float = Field(default=30.0, gt=0, le=600, description="HTTP timeout per filing attempt")

    @model_validator(mode="after")
    def _one_token_source(self) -> DeviceConfig:
        if (self.token is None) == (self.token_env is None):
            raise ValueError("give exactly one of token or token_env")
        return self

    def resolve_token(self) -> str:
        if self.token is not None:
            return self.token
        value = os.environ.get(str(self.token_env), "")
        if not value:
            raise ConfigError(f"device.token_env: environment variable {self.token_env} is not set or empty")
        return value


class ModelConfig(_Model):
    path: Path = Field(description="ONNX detector; relative paths are relative to the config file")
    sha256: str | None = Field(
        default=None, pattern=r"^[0-9a-f]{64}$", description="refuse the model unless its sha256 matches (recommended)"
    )
    conf: float = Field(default=0.25, ge=0, le=1, description="default detection confidence threshold")
    class_conf: dict[str, Annotated[float, Field(ge=0, le=1)]] = Field(
        default_factory=dict, description="per-class confidence thresholds by taxonomy class name"
    )
    iou: float = Field(default=0.7, ge=0, le=1, description="NMS IoU threshold")
    threads: int | None = Field(default=None, ge=1, le=64, description="inference threads (default: all cores)")
    runtime: RuntimeChoice = Field(
        default="auto",
        description="inference runtime for the ONNX file; auto: openvino where installed (the edge extra has it; "
        "measured faster on x86 boxes), else onnxruntime (docs/edge.md)",
    )
    max_batch: int = Field(default=8, ge=1, le=64, description="frames from several cameras run as one batch")

    @field_validator("class_conf")
    @classmethod
    def _known_classes(cls, value: dict[str, float]) -> dict[str, float]:
        for name in value:
            if name not in CLASS_NAMES:
                raise ValueError(f"unknown class {name!r}; taxonomy classes are {', '.join(CLASS_NAMES)}")
        return value


# -- schedules -------------------------------------------------------------------------------------
class TimeWindow(_Model):
    """A daily window, `start` inclusive, `end` exclusive; end before start runs past midnight."""

    start: str = Field(description="HH:MM local time")
    end: str = Field(description="HH:MM local time (24:00 allowed); before start = the window ends the next day")
    weekdays: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = Field(
        default_factory=lambda: list(WEEKDAYS), description="days the window starts on"
    )
    days: Literal["working", "rest"] | None = Field(
        default=None,
        description="instead of weekdays: the calendar's working days (Mon-Fri that are not holidays, plus make-up "
        "working days such as China's 调休 Saturdays) or its rest days (the others)",
    )
    holidays: Literal["include", "exclude", "only"] = Field(
        default="include", description="on public holidays (calendar.holidays): apply as usual, never, or only then"
    )

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, value: str) -> str:
        if not _CLOCK.match(value):
            raise ValueError(f"expected HH:MM (00:00 to 24:00), got {value!r}")
        return value

    @model_validator(mode="after")
    def _not_empty(self) -> TimeWindow:
        if self.start == self.end:
            raise ValueError(f"start and end are both {self.start}: an empty window")
        if not self.weekdays:
            raise ValueError("weekdays must not be empty")
        if self.days is not None and "weekdays" in self.model_fields_set:
            raise ValueError(f"give weekdays or days ({self.days!r}), not both: days already says which days")
        return self

    def minutes(self) -> tuple[int, int]:
        return _to_minutes(self.start), _to_minutes(self.end)


def _to_minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


class Schedule(_Model):
    """When a zone's rule is enforced. Empty `enforce` = always; `allow` windows are exceptions
    (e.g. a night market allowed 18:00-23:00 in a no_vending zone)."""

    enforce: list[TimeWindow] = Field(default_factory=list, description="windows when the rule applies; empty = always")
    allow: list[TimeWindow] = Field(default_factory=list, description="windows when the violation is permitted")


class CalendarConfig(_Model):
    timezone: str = Field(default="Asia/Shanghai", description="IANA time zone for schedules and evidence stamps")
    statutory: Literal["CN"] | None = Field(
        default=None,
        description="a country's statutory holidays and make-up working days from the pinned `holidays` library "
        "(CN: the State Council's yearly notice, 国务院办公厅关于部分节假日安排的通知)",
    )
    holidays: list[date] = Field(default_factory=list, description="the city's own extra days off (YYYY-MM-DD)")
    workdays: list[date] = Field(
        default_factory=list, description="the city's own extra working days (YYYY-MM-DD); they win over holidays"
    )

    @field_validator("timezone")
    @classmethod
    def _zone_exists(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone {value!r} (e.g. Asia/Shanghai)") from None
        return value


# -- rules -----------------------------------------------------------------------------------------
class _RuleCommon(_Model):
    classes: list[str] = Field(description="taxonomy classes that count as evidence for this violation")
    min_confidence: float = Field(default=0.0, ge=0, le=1, description="extra threshold on top of model.conf")
    rearm_after_s: Seconds = Field(description="the violation must be absent this long before a new case can open")
    cooldown_s: Seconds = Field(description="after a case in a zone, no new case of this type there for this long")
    standard_code: str = Field(min_length=1, max_length=32, description="the city's case code for this violation")
    sample_interval_s: float | None = Field(
        default=None,
        gt=0,
        le=3600,
        description="the rule needs a frame this often; null: the violation's default (edge/sampling.py: burning 1 s, "
        "parking 10 s, vending 15 s, garbage 30 s). A camera is sampled at the fastest interval its zones need",
    )
    max_reuse_s: Seconds | None = Field(
        default=None,
        description="an unchanged view's detections are reused at most this long, then the detector runs again; "
        "null: the violation's default (burning 5 s, parking 30 s, vending 60 s, garbage 120 s)",
    )

    @field_validator("classes")
    @classmethod
    def _known_classes(cls, value: list[str]) -> list[str]:
        return _rule_classes(value)


def _rule_classes(value: list[str]) -> list[str]:
    if not value:
        raise ValueError("classes must not be empty")
    for name in value:
        if name not in CLASS_NAMES:
            raise ValueError(f"unknown class {name!r}; taxonomy classes are {', '.join(CLASS_NAMES)}")
    return value


class ParkingRule(_RuleCommon):
    """A tracked vehicle standing still inside a no_parking zone for `dwell_s`."""

    kind: Literal["parking"] = Field(default="parking", description="rule kind; follows from the zone type")

    classes: list[str] = Field(default_factory=lambda: ["car", "bus", "truck"], description="vehicle classes")
    dwell_s: Seconds = Field(default=300, description="stationary time in the zone before a case is filed")
    max_move_frac: float = Field(
        default=0.35, gt=0, le=2, description="the anchor may drift this fraction of the box height and still count"
    )
    max_gap_s: Seconds = Field(default=30, description="a vehicle unseen this long (occlusion) loses its dwell time")
    rearm_after_s: Seconds = Field(default=120)
    cooldown_s: Seconds = Field(default=0)
    standard_code: str = Field(default="05-05", min_length=1, max_length=32)


class PresenceRule(_RuleCommon):
    """Static things judged by presence over sampled frames, not by tracks.

    Confirmed when, over the samples of the last `window_s`: positives >= `min_hits`, positive ratio
    >= `min_ratio`, and the episode (first positive sample to now) has lasted >= `min_duration_s`.
    `last_n` restricts the judgement to the newest n samples of the window.
    """

    kind: Literal["presence"] = Field(default="presence", description="rule kind; follows from the zone type")

    window_s: Seconds = Field(description="judge the samples of this many seconds")
    min_ratio: float = Field(default=0.0, ge=0, le=1, description="fraction of samples with the thing present")
    min_hits: int = Field(default=1, ge=1, description="number of samples with the thing present")
    last_n: int | None = Field(default=None, ge=1, description="only the newest n samples of the window count")
    min_duration_s: Seconds = Field(default=0, description="episode length before a case is filed")
    max_gap_s: Seconds = Field(default=60, description="an unconfirmed episode unseen this long starts over")
    urgent: bool = Field(default=False, description="file at once, ahead of the queue (open burning)")

    @model_validator(mode="after")
    def _coherent(self) -> PresenceRule:
        if self.min_duration_s > self.window_s and self.min_ratio > 0:
            raise ValueError(f"min_duration_s ({self.min_duration_s}) must not exceed window_s ({self.window_s})")
        return self


class VendingRule(PresenceRule):
    """Occupied-lane vending (占道经营): stall evidence present in a no_vending zone (presence over
    samples, as PresenceRule), outside the zone's permitted hours and outside active allow-zones.

    Stall evidence is a box of `classes` (the taxonomy's `stall`) where the model has that class;
    otherwise (`proxies: auto`) a stall proxy (`proxy_classes`: umbrella, dining_table) with a
    *stationary* tracked keeper (`keeper_classes`: person) beside it: a person standing within
    `keeper_max_move_frac` of their height for `keeper_still_s`, their box within `keeper_near_frac`
    of the proxy's size. A pedestrian carrying an umbrella through the zone never counts. A proxy
    outside `proxy_alone` (default: the umbrella) counts at once only co-located with a proxy of
    another class (a table of goods under it); alone, only after its keeper has stood still for
    `lone_proxy_still_s` (20 min): a person waiting at a bus stop under their own umbrella is a
    stationary person with an umbrella too, for the minutes a bus takes. An empty `keeper_classes`
    and every proxy in `proxy_alone` is the v1 behaviour. docs/vending.md has the details.
    """

    kind: Literal["vending"] = Field(default="vending", description="rule kind; follows from the zone type")  # type: ignore[assignment]
    classes: list[str] = Field(default_factory=lambda: [STALL], description="direct stall evidence classes")
    proxy_classes: list[str] = Field(
        default_factory=lambda: list(STALL_PROXY_CLASSES), description="stand-ins for a stall while a model has none"
    )
    keeper_classes: list[str] = Field(
        default_factory=lambda: ["person"], description="a stationary one of these must stand by a proxy; [] = none"
    )
    proxies: Literal["auto", "always", "never"] = Field(
        default="auto", description="auto: proxies count only when the model has none of `classes`"
    )
    keeper_still_s: Seconds = Field(default=30, description="a keeper must stand still this long")
    keeper_max_move_frac: float = Field(
        default=0.5, gt=0, le=5, description="a standing keeper's anchor may drift this fraction of their height"
    )
    keeper_near_frac: float = Field(
        default=0.5,
        ge=0,
        le=5,
        description="the keeper's box (and a co-located proxy's) within this many proxy sizes of the proxy's box",
    )
    proxy_alone: list[str] = Field(
        default_factory=lambda: ["dining_table"],
        description="proxies that are stall evidence by themselves; any other needs a proxy of another class beside it",
    )
    lone_proxy_still_s: Seconds | None = Field(
        default=1200,
        description="a proxy outside proxy_alone with no other proxy class beside it (an umbrella alone) counts "
        "once its keeper has stood still this long: past a wait for a bus, short of a stall's day; null: never",
    )

    @field_validator("proxy_classes", "keeper_classes", "proxy_alone")
    @classmethod
    def _known_names(cls, value: list[str]) -> list[str]:
        for name in value:
            if name not in CLASS_NAMES:
                raise ValueError(f"unknown class {name!r}; taxonomy classes are {', '.join(CLASS_NAMES)}")
        return value

    @model_validator(mode="after")
    def _alone_are_proxies(self) -> VendingRule:
        stray = [c for c in self.proxy_alone if c not in self.proxy_classes]
        if stray:
            raise ValueError(
                f"proxy_alone must be among proxy_classes ({', '.join(self.proxy_classes)}); got: {', '.join(stray)}"
            )
        return self


def _vending() -> VendingRule:
    return VendingRule(
        window_s=120,
        min_ratio=0.8,
        min_hits=3,
        min_duration_s=120,
        rearm_after_s=300,
        cooldown_s=1800,
        standard_code="05-01",
    )


def _garbage() -> PresenceRule:
    return PresenceRule(
        classes=["garbage", "bin_overflow"],
        window_s=600,
        min_ratio=0.8,
        min_hits=3,
        min_duration_s=600,
        max_gap_s=120,
        rearm_after_s=1800,
        cooldown_s=3600,
        standard_code="01-02",
    )


def _burning() -> PresenceRule:
    return PresenceRule(
        classes=["fire", "smoke"],
        window_s=30,
        last_n=5,
        min_hits=3,
        min_duration_s=0,
        max_gap_s=30,
        rearm_after_s=300,
        cooldown_s=600,
        standard_code="01-27",
        urgent=True,
    )


# A rule's kind tells the state machine that runs it (parking: tracks; presence: samples).
Rule = Annotated[ParkingRule | PresenceRule | VendingRule, Field(discriminator="kind")]
RuleKind = Literal["parking", "presence", "vending"]
RULE_KIND_OF_ZONE: dict[ZoneType, RuleKind] = {
    ZoneType.NO_PARKING: "parking",
    ZoneType.NO_VENDING: "vending",
    ZoneType.GARBAGE_WATCH: "presence",
    ZoneType.BURNING_WATCH: "presence",
}


class TrackingConfig(_Model):
    """The vehicle tracker behind the parking rules (ByteTrack's two confidence stages)."""

    start_conf: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="vehicle detections scoring at or above this (and at or above the camera's model.conf) start "
        "tracks and are matched first; weaker ones only keep an existing track alive (an occluded car)",
    )


class _RuleOverride(_Model):
    """A zone's partial rule: the fields it sets replace the global rule's, the others stay global.

    Generated from the rule itself (`_override_of`), so a new rule setting is overridable at once
    with the same bounds. Dumps hold only the fields the zone set, so a dump validates back to the
    same override.
    """

    kind: RuleKind

    @field_validator("classes", check_fields=False)
    @classmethod
    def _known_classes(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _rule_classes(value)

    @model_serializer(mode="wrap")
    def _only_what_was_set(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        return {name: value for name, value in data.items() if name == "kind" or name in self.model_fields_set}

    def applied_to(self, base: Rule) -> Rule:
        """The global rule with this zone's settings; validated as a whole (cross-field checks)."""
        if base.kind != self.kind:
            raise ValueError(f"{self.kind} overrides cannot apply to a {base.kind} rule")
        updates = {name: getattr(self, name) for name in self.model_fields_set if name != "kind"}
        return type(base).model_validate({**base.model_dump(), **updates})


def _override_of(rule: type[ParkingRule] | type[PresenceRule] | type[VendingRule]) -> type[_RuleOverride]:
    fields: dict[str, Any] = {}
    for name, info in rule.model_fields.items():
        if name == "kind":
            fields[name] = (info.annotation, info.default)
            continue
        bounded = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
        fields[name] = (bounded | None, Field(default=None, description=info.description))
    return create_model(f"{rule.__name__}Override", __base__=_RuleOverride, __doc__=_RuleOverride.__doc__, **fields)


ParkingOverride = _override_of(ParkingRule)
PresenceOverride = _override_of(PresenceRule)
VendingOverride = _override_of(VendingRule)
RuleOverride = Annotated[  # type: ignore[valid-type]
    ParkingOverride | PresenceOverride | VendingOverride, Field(discriminator="kind")
]


class RulesConfig(_Model):
    time_scale: float = Field(
        default=1.0,
        gt=0,
        le=1000,
        description="every rule time (dwell, windows, gaps, re-arm, cooldown) is multiplied by this; 1.0 in service",
    )
    tracking: TrackingConfig = Field(default_factory=TrackingConfig)
    illegal_parking: ParkingRule = Field(default_factory=ParkingRule)
    occupied_lane_vending: VendingRule = Field(default_factory=_vending)
    exposed_garbage: PresenceRule = Field(default_factory=_garbage)
    open_burning: PresenceRule = Field(default_factory=_burning)

    @model_validator(mode="before")
    @classmethod
    def _fill_presence_defaults(cls, data: object) -> object:
        """A partial presence-rule block changes only the fields it names, as a partial
        `illegal_parking` does: the rest come from that violation's defaults, not "Field required"."""
        if not isinstance(data, dict):
            return data
        filled = dict(data)
        for name, defaults in (
            ("occupied_lane_vending", _vending),
            ("exposed_garbage", _garbage),
            ("open_burning", _burning),
        ):
            given = filled.get(name)
            if isinstance(given, dict):
                filled[name] = {**defaults().model_dump(exclude_defaults=True), **given}
        return filled

    def for_violation(self, violation: ViolationType) -> Rule:
        rules: dict[ViolationType, Rule] = {
            ViolationType.ILLEGAL_PARKING: self.illegal_parking,
            ViolationType.OCCUPIED_LANE_VENDING: self.occupied_lane_vending,
            ViolationType.EXPOSED_GARBAGE: self.exposed_garbage,
            ViolationType.OPEN_BURNING: self.open_burning,
        }
        return rules[violation]


# -- cameras and zones -----------------------------------------------------------------------------
def check_polygon(value: list[tuple[float, float]]) -> list[tuple[float, float]]:
    if len(value) < 3:
        raise ValueError(f"a polygon needs at least 3 points, got {len(value)}")
    for i, (x, y) in enumerate(value):
        # YAML's .nan/.inf are floats: a NaN point is inside nothing (the zone would never fire) and
        # cannot be drawn on the snapshot.
        if not (math.isfinite(x) and math.isfinite(y)):
            raise FieldProblem((i,), f"expected finite pixel coordinates [x, y], got [{x}, {y}]")
        if x < 0 or y < 0:
            raise FieldProblem((i,), f"expected non-negative pixel coordinates [x, y], got [{x}, {y}]")
        if x > MAX_FRAME_SIDE or y > MAX_FRAME_SIDE:
            raise FieldProblem(
                (i,), f"expected pixel coordinates of a camera picture (at most {MAX_FRAME_SIDE}), got [{x}, {y}]"
            )
    if _area(value) < 1.0:
        raise ValueError("polygon has no area (points are collinear or repeated)")
    return value


def _area(points: list[tuple[float, float]]) -> float:
    return abs(sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(points, points[1:] + points[:1], strict=True))) / 2


def area_in_frame(polygon: list[tuple[float, float]], width: float, height: float) -> float:
    """Area (px^2) of the polygon's part inside the frame [0, width] x [0, height]: 0 = a zone no
    detection can be anchored in. Sutherland-Hodgman clipping by the frame's four edges (the frame is
    convex, so any simple polygon, convex or not, clips to the right area)."""
    edges = [  # (inside test, intersection of segment a-b with the edge)
        (lambda p: p[0] >= 0, lambda a, b: (0.0, a[1] + (b[1] - a[1]) * (0 - a[0]) / (b[0] - a[0]))),
        (lambda p: p[0] <= width, lambda a, b: (width, a[1] + (b[1] - a[1]) * (width - a[0]) / (b[0] - a[0]))),
        (lambda p: p[1] >= 0, lambda a, b: (a[0] + (b[0] - a[0]) * (0 - a[1]) / (b[1] - a[1]), 0.0)),
        (lambda p: p[1] <= height, lambda a, b: (a[0] + (b[0] - a[0]) * (height - a[1]) / (b[1] - a[1]), height)),
    ]
    points = list(polygon)
    for inside, cross in edges:
        if not points:
            return 0.0
        clipped: list[tuple[float, float]] = []
        for a, b in zip(points[-1:] + points[:-1], points, strict=True):
            if inside(b):
                if not inside(a):
                    clipped.append(cross(a, b))
                clipped.append(b)
            elif inside(a):
                clipped.append(cross(a, b))
        points = clipped
    return _area(points) if len(points) >= 3 else 0.0


class ZoneConfig(_Model):
    id: Identifier = Field(description="zone id, unique within the camera; reported with each case")
    type: ZoneType = Field(description="what the zone watches: no_parking, no_vending, garbage_watch, burning_watch")
    polygon: list[tuple[float, float]] = Field(description="[[x, y], ...] in source-frame pixels, at least 3 points")
    anchor: Literal["bottom_center", "center"] = Field(
        default="bottom_center", description="the point of a box that must lie in the polygon"
    )
    kind: Identifier | None = Field(
        default=None,
        description="how the city classes the place (e.g. shop_front, street_food): sent with each case, the case "
        "service picks the event code by it (店外经营 for shop fronts)",
    )
    schedule: Schedule = Field(default_factory=Schedule, description="when the rule applies")
    rule: RuleOverride | None = Field(
        default=None, description="overrides of rules.<violation> for this zone, e.g. {dwell_s: 600}"
    )

    @field_validator("rule", mode="before")
    @classmethod
    def _rule_kind_from_zone_type(cls, value: object, info: ValidationInfo) -> object:
        """The file never names the override's kind: the zone type decides it."""
        if not isinstance(value, dict):
            return value
        zone_type = info.data.get("type")
        if zone_type is None:
            return None  # the type is wrong (reported there): which rule this overrides is unknown
        kind = RULE_KIND_OF_ZONE[zone_type]
        if value.get("kind", kind) != kind:
            raise FieldProblem(("kind",), f"a {zone_type} zone overrides a {kind} rule, got {value['kind']!r}")
        return {**value, "kind": kind}

    @field_validator("polygon")
    @classmethod
    def _polygon(cls, value: list[tuple[float, float]]) -> list[tuple[float, float]]:
        return check_polygon(value)

    @property
    def violation(self) -> ViolationType:
        return VIOLATION_OF_ZONE[self.type]


class AllowZoneConfig(_Model):
    """A permitted area inside a camera's view: 外摆经营划线区 (marked shop-front area), 临时摊区
    (temporary stall area), 夜市 (night market). While its schedule is in effect, evidence anchored
    inside it does not count for the violations it permits."""

    id: Identifier = Field(description="allow-zone id, unique within the camera")
    polygon: list[tuple[float, float]] = Field(description="[[x, y], ...] in source-frame pixels, at least 3 points")
    anchor: Literal["bottom_center", "center"] = Field(default="bottom_center")
    permits: list[ViolationType] = Field(
        default_factory=lambda: [ViolationType.OCCUPIED_LANE_VENDING], description="violations permitted inside"
    )
    schedule: list[TimeWindow] = Field(
        default_factory=list, description="when the permission holds (e.g. 夜市 18:00-23:00); empty = always"
    )
    note: str | None = Field(default=None, max_length=200, description="what it is, e.g. 夜市 (permit no. ...)")

    @field_validator("polygon")
    @classmethod
    def _polygon(cls, value: list[tuple[float, float]]) -> list[tuple[float, float]]:
        return check_polygon(value)


class HealthConfig(_Model):
    frozen_after_s: Seconds | None = Field(
        default=120, description="identical frames for this long = frozen; null disables (e.g. still-image demos)"
    )
    frozen_max_diff: float = Field(default=0.3, ge=0, description="mean absolute grey-level change counted as frozen")
    dark_after_s: Seconds | None = Field(default=60, description="black or covered view for this long; null disables")
    dark_max_mean: float = Field(default=12, ge=0, le=255, description="mean grey level at or below = black")
    flat_max_std: float = Field(default=4, ge=0, le=255, description="grey-level spread at or below = covered lens")
    moved_after_s: Seconds | None = Field(default=60, description="scene unlike its reference this long; null disables")
    moved_min_similarity: float = Field(
        default=0.45, ge=-1, le=1, description="edge-map correlation with the reference below this = moved"
    )


class ClipConfig(_Model):
    """A short MP4 per case, cut from the camera's own compressed packets (edge/clips.py): no
    re-encoding. Off by default: a 1080p main stream at 4 Mbit/s fills its 48 MiB buffer in about
    100 s, and every clip costs the outbox disk and the uplink what the camera streamed."""

    enabled: bool = Field(default=False, description="record a clip for each case of this camera")
    before_s: float = Field(default=5.0, ge=0, le=120, description="seconds before first seen")
    after_s: float = Field(default=5.0, ge=0, le=120, description="seconds after the confirmation")
    buffer_s: float = Field(
        default=400.0,
        gt=0,
        le=3600,
        description="packets kept in memory (seconds): long enough for the longest dwell rule plus before_s and "
        "after_s, or the clip starts at the oldest keyframe still held",
    )
    buffer_bytes: int = Field(
        default=48 * 1024**2,
        ge=1024**2,
        le=1024**3,
        description="bytes of packets kept in memory; the oldest GOPs go first (also the largest clip)",
    )


class CameraConfig(_Model):
    id: Identifier = Field(description="camera id, unique on this box")
    source: str = Field(
        min_length=1,
        description="rtsp://…, http(s)://… (MJPEG, MPEG-TS, snapshot JPEG), usb:0, or a video file path",
    )
    kind: Literal["auto", "file", "rtsp", "http_stream", "http_snapshot", "usb"] = Field(
        default="auto", description="source type; auto guesses from the URL"
    )
    sample_fps: float | None = Field(
        default=None,
        gt=0,
        le=30,
        description="frames per second handed to the detector; null: the fastest rate this camera's zones need "
        "(each rule's sample_interval_s)",
    )
    decode: Literal["auto", "keyframes", "all"] = Field(
        default="auto",
        description="auto: decode only keyframes when they come often enough for sample_fps, else every frame",
    )
    realtime: bool = Field(default=True, description="files: play at their native frame rate (false: as fast as read)")
    loop: bool = Field(default=False, description="files: start again at the end")
    location: Location = Field(description="where the camera looks: lat, lon, address, grid_code")
    zones: list[ZoneConfig] = Field(default_factory=list, description="polygons in this camera's image")
    allow_zones: list[AllowZoneConfig] = Field(
        default_factory=list, description="permitted areas (with schedules) where the zones' rules do not apply"
    )
    health: HealthConfig = Field(default_factory=HealthConfig)
    model: ModelConfig | None = Field(
        default=None,
        description="this camera's own detector, e.g. the COCO release on vending cameras while the street model "
        "cannot see stall proxies; default: the box's model",
    )
    enabled: bool = Field(default=True, description="false keeps the camera in the file but does not open it")
    clip: ClipConfig = Field(default_factory=ClipConfig, description="an MP4 clip per case (off by default)")
    frame_size: tuple[FrameSide, FrameSide] | None = Field(
        default=None,
        description="the camera's picture [width, height] in pixels, where known: `edge check` then refuses zones "
        "that lie wholly outside it, and the agent warns when the live picture differs",
    )

    @model_validator(mode="after")
    def _clips_need_packets(self) -> CameraConfig:
        if self.clip.enabled and source_kind(self) in ("http_snapshot", "usb"):
            raise ValueError(
                "clip.enabled needs a compressed stream (a file, RTSP or HTTP/TCP stream) to copy packets from; "
                f"this camera's source is {source_kind(self)}"
            )
        return self

    @model_validator(mode="after")
    def _unique_zones(self) -> CameraConfig:
        ids = [z.id for z in self.zones] + [z.id for z in self.allow_zones]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"zone ids (allow-zones too) must be unique within a camera; repeated: {', '.join(dupes)}")
        return self

    @model_validator(mode="after")
    def _zones_in_frame(self) -> CameraConfig:
        """With the picture's size stated, a zone wholly outside it is a mistake (no detection can be in it)."""
        if self.frame_size is None:
            return self
        width, height = self.frame_size
        for field, zones in (("zones", self.zones), ("allow_zones", self.allow_zones)):
            for i, zone in enumerate(zones):
                if area_in_frame(zone.polygon, width, height) <= 0:
                    raise FieldProblem(
                        (field, i, "polygon"),
                        f"lies wholly outside the {width}x{height} picture (frame_size), so it can never match; "
                        f"expected points within [0, {width}] x [0, {height}]",
                    )
        return self


class SamplingConfig(_Model):
    """Frames that did not change since the last inferred one reuse its detections (edge/change.py)."""

    skip_unchanged: bool = Field(default=True, description="judge unchanged frames with the previous detections")
    min_changed: float = Field(
        default=0.002,
        ge=0,
        le=1,
        description="share of the 96x54 grey thumbnail's pixels that must change for the detector to run",
    )
    pixel_delta: float = Field(
        default=12, gt=0, le=255, description="grey levels a thumbnail pixel must move to count as changed"
    )


class StorageConfig(_Model):
    root: Path = Field(description="state folder: outbox database, evidence JPEGs, camera references")
    max_bytes: int = Field(default=2 * 1024**3, ge=10 * 1024**2, description="disk budget for the outbox and evidence")
    retention_days: float = Field(
        default=30,
        gt=0,
        description="rows of delivered cases (their evidence is deleted once acknowledged) and evidence of "
        "refused ones are kept this long",
    )
    when_full: Literal["drop_new", "drop_oldest_pending"] = Field(
        default="drop_new",
        description="over budget after pruning delivered evidence: refuse new cases (urgent still filed) "
        "or delete the oldest undelivered ones",
    )
    evidence_queue_mb: int = Field(
        default=256,
        ge=16,
        le=16384,
        description="memory for confirmed cases waiting for their evidence to be built (a 1080p case waits "
        "as two JPEGs, about 0.5 MB); when it is full the pipeline waits rather than drop a case",
    )
    evidence_nice: int = Field(
        default=10,
        ge=0,
        le=19,
        description="niceness added to the thread that builds evidence (Linux): decisions come first on a busy "
        "box, and cases wait in the queue for the CPU they leave; 0 runs it at the pipeline's priority",
    )
    jpeg_quality: int = Field(default=90, ge=50, le=100, description="evidence JPEG quality")
    privacy_filter: Literal["pixelate", "blur", "none"] = Field(
        default="pixelate",
        description="public copies of every frame hide people and other vehicles' plates this way "
        "(edge/privacy.py); none: no public copies, so the case service publishes no frame",
    )


class PlatesConfig(_Model):
    """Reading the parked vehicle's plate on parking cases (edge/plates.py)."""

    enabled: bool = Field(default=True, description="read the plate of the vehicle of every parking case")
    min_confidence: float = Field(
        default=0.8, ge=0, le=1, description="below this recogniser score a plate number is filed as unread"
    )
    threads: int = Field(default=1, ge=1, le=16, description="onnxruntime threads of the plate reader")


class SenderConfig(_Model):
    backoff_initial_s: float = Field(default=2.0, gt=0, description="first retry delay")
    backoff_max_s: float = Field(default=300.0, gt=0, description="retry delay cap")
    jitter: float = Field(default=0.2, ge=0, le=1, description="random +/- fraction added to each delay")


class ApiConfig(_Model):
    enabled: bool = Field(default=True)
    host: str = Field(default="127.0.0.1", description="loopback by default; the API has no authentication")
    port: int = Field(default=8765, ge=0, le=65535, description="0 picks a free port")


class ReconnectConfig(_Model):
    initial_s: float = Field(default=1.0, gt=0, description="first reconnect delay")
    max_s: float = Field(default=60.0, gt=0, description="reconnect delay cap")
    jitter: float = Field(default=0.3, ge=0, le=1, description="random +/- fraction of each delay")
    stall_timeout_s: float = Field(default=10.0, gt=0, description="no frame for this long = the stream is dead")


class EdgeConfig(_Model):
    device: DeviceConfig
    model: ModelConfig
    cameras: list[CameraConfig] = Field(min_length=1, description="the cameras this box watches")
    rules: RulesConfig = Field(default_factory=RulesConfig)
    sampling: SamplingConfig = Field(default_factory=SamplingConfig)
    calendar: CalendarConfig = Field(default_factory=CalendarConfig)
    storage: StorageConfig
    plates: PlatesConfig = Field(default_factory=PlatesConfig)
    sender: SenderConfig = Field(default_factory=SenderConfig)
    reconnect: ReconnectConfig = Field(default_factory=ReconnectConfig)
    api: ApiConfig = Field(default_factory=ApiConfig)
    stop_when_sources_end: bool = Field(
        default=False, description="exit once every (non-looping) file source has ended and the outbox is drained"
    )
    drain_timeout_s: float = Field(default=20.0, ge=0, description="on stop, try this long to deliver pending cases")

    @model_validator(mode="after")
    def _cross_checks(self) -> EdgeConfig:
        ids = [c.id for c in self.cameras]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise FieldProblem(("cameras",), f"camera ids must be unique; repeated: {', '.join(dupes)}")
        for ci, camera in enumerate(self.cameras):
            for zi, zone in enumerate(camera.zones):
                try:
                    self.zone_rule(zone)
                except ValidationError as exc:  # the zone's settings clash with the global ones it keeps
                    first = exc.errors()[0]
                    raise FieldProblem(
                        ("cameras", ci, "zones", zi, "rule", *first["loc"]),
                        f"{first['msg'].removeprefix('Value error, ')} (overrides rules.{zone.violation})",
                    ) from None
        if self.stop_when_sources_end and not any(is_file_source(c) and not c.loop for c in self.cameras):
            raise FieldProblem(("stop_when_sources_end",), "needs at least one non-looping file source")
        return self

    def model_for(self, camera: CameraConfig) -> ModelConfig:
        """The detector settings a camera runs: its own `model`, else the box's."""
        return camera.model or self.model

    def zone_rule(self, zone: ZoneConfig) -> Rule:
        """The global rule for the zone's violation with the zone's overrides applied (the one place
        they are merged; checked once when the config is validated)."""
        base = self.rules.for_violation(zone.violation)
        return base if zone.rule is None else zone.rule.applied_to(base)


def source_kind(camera: CameraConfig) -> str:
    """The camera's `kind`, or for `auto` what its source string says (file, rtsp, http_*, usb)."""
    if camera.kind != "auto":
        return camera.kind
    src = camera.source.lower()
    if src.startswith("usb:"):
        return "usb"
    if src.startswith(("rtsp://", "rtsps://")):
        return "rtsp"
    if src.startswith(("http://", "https://")):
        path = src.split("?", 1)[0]
        return "http_snapshot" if path.endswith((".jpg", ".jpeg")) or "snapshot" in path else "http_stream"
    if "://" in src:  # tcp://, udp://, srt://: whatever FFmpeg reads
        return "http_stream"
    return "file"


def is_file_source(camera: CameraConfig) -> bool:
    """A video file (it ends; `loop` and `realtime` apply), as opposed to a live camera."""
    return source_kind(camera) == "file"


# -- loading ---------------------------------------------------------------------------------------
def load_config(path: Path) -> EdgeConfig:
    """Read, check and resolve a config file; one ConfigError listing every problem with its line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    return parse_config(text, source=str(path), base_dir=path.parent)


def parse_config(text: str, source: str = "<config>", base_dir: Path | None = None) -> EdgeConfig:
    data, lines = load_with_lines(text, source)
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a YAML mapping at the top, got {type(data).__name__}")
    try:
        config = EdgeConfig.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = _file_loc(error["loc"])
            problem = error.get("ctx", {}).get("error")
            if isinstance(problem, FieldProblem):  # a model-level check that names its field
                loc, message = [*loc, *problem.loc], problem.message
            else:
                message = error["msg"].removeprefix("Value error, ")
            overridden = _overridden_rule(data, loc)
            if overridden and "(overrides rules." not in message:
                message += f" (overrides rules.{overridden})"
            line = lines.line_of(loc)
            problems.append(f"line {line or '?'}: {_dotted(loc) or '(top level)'}: {message}")
        raise ConfigError(f"{source}: {len(problems)} problem(s)\n" + "\n".join(problems)) from None
    resolved = _resolve_paths(config, base_dir)
    root = resolved.storage.root
    if root.exists() and not root.is_dir():  # `run` would die on it; say so at `check`
        line = lines.line_of(["storage", "root"])
        raise ConfigError(
            f"{source}: 1 problem(s)\nline {line or '?'}: storage.root: {root} is a file; "
            "expected a folder (made if missing) for the outbox and evidence"
        )
    return resolved


def _overridden_rule(data: dict[str, Any], loc: list[str | int]) -> str | None:
    """For a problem inside `cameras[i].zones[j].rule`: the violation whose global rule it overrides."""
    if len(loc) < 5 or loc[0] != "cameras" or loc[2] != "zones" or loc[4] != "rule":
        return None
    try:
        zone_type = ZoneType(data["cameras"][loc[1]]["zones"][loc[3]]["type"])
    except (KeyError, IndexError, TypeError, ValueError):
        return None
    return VIOLATION_OF_ZONE[zone_type].value


def _file_loc(loc: tuple[str | int, ...]) -> list[str | int]:
    """A pydantic error location as a path in the file: without validator names and without the
    tag pydantic inserts after `rule` for the override's kind (the file never writes it)."""
    out: list[str | int] = []
    for part in loc:
        if isinstance(part, str) and part.startswith("function-"):
            continue
        if out and out[-1] == "rule" and part in RULE_KIND_OF_ZONE.values():
            continue
        out.append(part)
    return out


def _dotted(loc: list[str | int]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _resolve_paths(config: EdgeConfig, base_dir: Path | None) -> EdgeConfig:
    if base_dir is None:
        return config

    def resolve(p: Path) -> Path:
        return p if p.is_absolute() else (base_dir / p)

    def resolve_camera(camera: CameraConfig) -> CameraConfig:
        update: dict[str, object] = {}
        if is_file_source(camera):
            update["source"] = str(resolve(Path(camera.source)))
        if camera.model is not None:
            update["model"] = camera.model.model_copy(update={"path": resolve(camera.model.path)})
        return camera.model_copy(update=update) if update else camera

    cameras = [resolve_camera(c) for c in config.cameras]
    return config.model_copy(
        update={
            "model": config.model.model_copy(update={"path": resolve(config.model.path)}),
            "storage": config.storage.model_copy(update={"root": resolve(config.storage.root)}),
            "cameras": cameras,
        }
    )
