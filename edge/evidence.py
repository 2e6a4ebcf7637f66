"""Turn a `ViolationEvent` into a `CaseReport` plus four JPEGs (first seen / confirmation, each
annotated and clean), hashed with sha256; on parking cases the plate and its crop; and, unless the
box's `storage.privacy_filter` is `none`, a public copy of each frame with people and other
vehicles' plates hidden (edge/privacy.py), filed beside the original as its `public_sha256`."""

from __future__ import annotations

import hashlib
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING

import cv2
import numpy as np
import numpy.typing as npt

from streetwatch.contract import (
    CaseBundle,
    CaseReport,
    DetectionRecord,
    EvidenceImage,
    EvidenceRef,
    EvidenceRole,
    Location,
    ModelRef,
    PlateReport,
    PlateStatus,
)
from streetwatch.edge.config import CameraConfig, ZoneConfig
from streetwatch.edge.events import Moment, ViolationEvent
from streetwatch.edge.jpeg import encode_jpeg
from streetwatch.edge.packed_event import PackedEvent
from streetwatch.edge.privacy import PrivacyFilter, private_regions
from streetwatch.inference.detections import Detections
from streetwatch.inference.draw import draw_detections
from streetwatch.models.taxonomy import CLASS_NAMES, ViolationType

if TYPE_CHECKING:  # the reader pulls in rapidocr: only boxes that read plates import it
    from streetwatch.edge.plates import PlateReader

Frame = npt.NDArray[np.uint8]


def draw_zone(frame: Frame, zone: ZoneConfig, color: tuple[int, int, int] = (0, 0, 255)) -> Frame:
    """A copy with the zone polygon outlined, lightly filled, and labelled with id and type."""
    out = frame.copy()
    pts = np.asarray(zone.polygon, dtype=np.int32).reshape(-1, 1, 2)
    overlay = out.copy()
    cv2.fillPoly(overlay, [pts], color)
    cv2.addWeighted(overlay, 0.15, out, 0.85, 0, dst=out)
    cv2.polylines(out, [pts], True, color, 2, cv2.LINE_AA)
    x, y = pts.reshape(-1, 2).min(axis=0)
    scale = max(0.4, min(out.shape[:2]) / 1200)
    cv2.putText(out, f"{zone.id} ({zone.type})", (int(x) + 4, int(y) + 18), cv2.FONT_HERSHEY_SIMPLEX, scale, color, 1)
    return out


def stamp(frame: Frame, text: str) -> Frame:
    """Text on a dark band at the top-left (timestamp, camera, violation)."""
    out = frame.copy()
    scale = max(0.45, min(out.shape[:2]) / 1000)
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    cv2.rectangle(out, (0, 0), (tw + 12, th + base + 12), (0, 0, 0), -1)
    cv2.putText(out, text, (6, th + 6), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def _vehicle_box(detections: Detections) -> tuple[float, float, float, float] | None:
    """The parked vehicle: a parking moment keeps only its box (the largest, should there be more)."""
    if len(detections) == 0:
        return None
    areas = (detections.xyxy[:, 2] - detections.xyxy[:, 0]) * (detections.xyxy[:, 3] - detections.xyxy[:, 1])
    x1, y1, x2, y2 = (float(v) for v in detections.xyxy[int(np.argmax(areas))])
    return (x1, y1, x2, y2)


def _clip(box: tuple[float, float, float, float], frame: Frame) -> tuple[float, float, float, float]:
    height, width = frame.shape[:2]
    x1, y1, x2, y2 = box
    return (min(max(x1, 0.0), width), min(max(y1, 0.0), height), min(max(x2, 0.0), width), min(max(y2, 0.0), height))


class EvidenceBuilder:
    def __init__(
        self,
        *,
        device_id: str,
        model: ModelRef,
        names: tuple[str, ...],
        tz: tzinfo,
        jpeg_quality: int = 90,
        privacy: PrivacyFilter | None = None,
        plates: PlateReader | None = None,
        plate_finder: PlateReader | None = None,
    ) -> None:
        self.device_id, self.model, self.names, self.tz = device_id, model, names, tz
        self.jpeg_quality = jpeg_quality
        self.privacy = privacy  # None: no public copies (the case service then publishes no frame)
        self.plates = plates  # None: plates are not read (the case's `plate` stays null)
        self.plate_finder = plate_finder or plates  # finds the plates to hide in public copies

    def pack(self, event: ViolationEvent) -> PackedEvent:
        """The event as it waits for its evidence: frames held as their clean JPEGs (packed_event.py)."""
        return PackedEvent.pack(event, self.jpeg_quality)

    def build(self, case: ViolationEvent | PackedEvent, camera: CameraConfig) -> CaseBundle:
        """The case and its images. A packed event's clean images are its JPEGs as they are; the other
        images are made from their decoded pixels."""
        if isinstance(case, PackedEvent):
            event, clean_jpegs = case.unpack(), case.jpegs
        else:
            event, clean_jpegs = case, {}
        zone = next(z for z in camera.zones if z.id == event.zone_id)
        images: list[EvidenceImage] = []
        refs: list[EvidenceRef] = []
        parking = event.violation is ViolationType.ILLEGAL_PARKING
        for moment, annotated_role, clean_role in (
            (event.first_seen, EvidenceRole.FIRST_SEEN, EvidenceRole.FIRST_SEEN_CLEAN),
            (event.confirmed, EvidenceRole.CONFIRMATION, EvidenceRole.CONFIRMATION_CLEAN),
        ):
            label = f"{moment.wall.astimezone(self.tz):%Y-%m-%d %H:%M:%S %Z}  {camera.id}  {event.violation}"
            clean = moment.frame
            versions = [(annotated_role, self.annotate(clean, zone, moment, label)), (clean_role, clean)]
            public: dict[EvidenceRole, Frame] = {}
            if self.privacy is not None:
                scene = moment.scene if moment.scene is not None else moment.detections
                keep = moment.detections if parking else None  # the parked vehicle's plate stays readable
                regions = private_regions(clean, scene, self.names, self.plate_finder, keep)
                hidden = self.privacy.apply(clean, regions) if regions else clean
                public = {annotated_role: self.annotate(hidden, zone, moment, label), clean_role: hidden}
            for role, frame in versions:
                given = clean_jpegs.get(role)
                original = self.image(role, frame) if given is None else self.jpeg_image(role, given)
                images.append(original)
                copy = None
                if role in public:  # nothing hidden: the public copy is the original itself
                    copy = original if public[role] is frame else self.image(role, public[role], public=True)
                if copy is not None and copy.sha256 != original.sha256:
                    images.append(copy)
                refs.append(
                    EvidenceRef(
                        role=role,
                        sha256=original.sha256,
                        public_sha256=None if copy is None else copy.sha256,
                        captured_at=moment.wall,
                    )
                )
        plate = None
        if self.plates is not None and parking:
            plate, crop, read_at = self.read_plate(self.plates, event)
            if crop is not None:
                images.append(crop)
                refs.append(EvidenceRef(role=crop.role, sha256=crop.sha256, captured_at=read_at))
        height, width = event.confirmed.frame.shape[:2]
        report = CaseReport(
            event_id=event.event_id,
            device_id=self.device_id,
            camera_id=camera.id,
            violation_type=event.violation,
            standard_code=event.standard_code,
            first_seen=event.first_seen.wall,
            confirmed_at=event.confirmed.wall,
            zone_id=zone.id,
            zone_kind=zone.kind,
            location=Location.model_validate(camera.location.model_dump()),
            detections=self.records(event.confirmed),
            model=self.model,
            evidence=refs,
            urgent=event.urgent,
            frame_size=(width, height),
            plate=plate,
        )
        return CaseBundle(report, images)

    def annotate(self, frame: Frame, zone: ZoneConfig, moment: Moment, label: str) -> Frame:
        """Zone, the detections that matter and the stamp, drawn on a copy of `frame`."""
        return stamp(draw_detections(draw_zone(frame, zone), moment.detections, self.names), label)

    def image(self, role: EvidenceRole, frame: Frame, public: bool = False) -> EvidenceImage:
        return self.jpeg_image(role, encode_jpeg(frame, self.jpeg_quality), public)

    @staticmethod
    def jpeg_image(role: EvidenceRole, jpeg: bytes, public: bool = False) -> EvidenceImage:
        return EvidenceImage(role, jpeg, hashlib.sha256(jpeg).hexdigest(), public=public)

    def read_plate(
        self, reader: PlateReader, event: ViolationEvent
    ) -> tuple[PlateReport, EvidenceImage | None, datetime]:
        """The parked vehicle's plate: read on the confirmation frame, the first-seen one and the
        views of the vehicle kept during its dwell; the best read is kept (the confirmation frame
        when none reads). The crop comes from the original pixels, so the reviewer checks the
        reading against what the camera saw; `plate.frame`/`box` say where, when it was one of the
        case's frames (null for a dwell view: that frame is not filed). Returns the crop's time too."""
        from streetwatch.edge.plates import plate_crop

        sources: list[tuple[Frame, tuple[float, float, float, float], EvidenceRole | None, datetime]] = []
        for moment, role in (
            (event.confirmed, EvidenceRole.CONFIRMATION_CLEAN),
            (event.first_seen, EvidenceRole.FIRST_SEEN_CLEAN),
        ):
            vehicle = _vehicle_box(moment.detections)
            if vehicle is not None:
                sources.append((moment.frame, vehicle, role, moment.wall))
        for view in event.views:
            h, w = view.crop.shape[:2]
            sources.append((view.crop, (0.0, 0.0, float(w), float(h)), None, view.wall))
        if not sources:
            return PlateReport(status=PlateStatus.UNREAD), None, event.confirmed.wall
        index, result = reader.best_of([(image, vehicle) for image, vehicle, _, _ in sources])
        image, _, role, wall = sources[index]
        box = None if result.box is None else tuple(round(v, 1) for v in _clip(result.box, image))
        if box is not None and not (box[2] > box[0] and box[3] > box[1]):
            box = None
        report = PlateReport(
            status=PlateStatus.READ if result.read else PlateStatus.UNREAD,
            text=result.text,
            kind=result.kind,
            confidence=result.confidence,
            frame=role if box is not None else None,
            box=box if role is not None else None,  # type: ignore[arg-type]
        )
        if box is None:
            return report, None, wall
        crop = self.image(EvidenceRole.PLATE, plate_crop(image, box))  # type: ignore[arg-type]
        return report, crop, wall

    def records(self, moment: Moment) -> list[DetectionRecord]:
        """Detections as the contract wants them: taxonomy names only, boxes clipped to the frame."""
        height, width = moment.frame.shape[:2]
        out = []
        for box, conf, cls, tid in moment.detections:
            name = self.names[cls] if cls < len(self.names) else ""
            if name not in CLASS_NAMES:
                continue
            x1, y1, x2, y2 = (float(v) for v in np.clip(box, 0, [width, height, width, height]))
            out.append(
                DetectionRecord(
                    class_name=name,
                    confidence=round(min(max(conf, 0.0), 1.0), 4),
                    box=(round(x1, 1), round(y1, 1), round(x2, 1), round(y2, 1)),
                    tracker_id=tid if tid is not None and tid >= 0 else None,
                )
            )
        return out[:200]
