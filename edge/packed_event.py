"""A confirmed event waiting for its evidence, its frames held as their clean evidence JPEGs.

Why: until its evidence is built a 1080p case holds two raw frames, about 12 MB. A burst of cases
(a restarted box whose cameras all see parked cars reach their dwell time together) then fills the
evidence queue's memory within seconds, and the pipeline waits: every camera's decisions are late.
The clean JPEG of each frame is part of the evidence anyway (the `*_clean` roles), so encoding it
when the case is queued adds no work, holds about a twentieth of the memory, and the builder files
exactly those bytes. The annotated copies, the public copies and the plate reading work on the
decoded JPEG, that is on the very pixels the clean evidence shows the reviewer.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from streetwatch.contract import EvidenceRole
from streetwatch.edge.events import Moment, ViolationEvent
from streetwatch.edge.jpeg import decode_jpeg, encode_jpeg

Frame = npt.NDArray[np.uint8]  # (H, W, 3) BGR

# A packed event's moments keep their times and detections; their pixels live in `PackedEvent.jpegs`.
_NO_PIXELS: Frame = np.zeros((0, 0, 3), dtype=np.uint8)
_CLEAN_ROLES = (EvidenceRole.FIRST_SEEN_CLEAN, EvidenceRole.CONFIRMATION_CLEAN)


@dataclass(frozen=True)
class PackedEvent:
    """`event` with its two moments' pixels dropped; `jpegs` holds them, per clean evidence role
    (the same bytes twice when both moments are one frame)."""

    event: ViolationEvent
    jpegs: dict[EvidenceRole, bytes]

    @classmethod
    def pack(cls, event: ViolationEvent, quality: int) -> PackedEvent:
        first, confirmed = event.first_seen, event.confirmed
        first_jpeg = encode_jpeg(first.frame, quality)
        confirmed_jpeg = first_jpeg if confirmed.frame is first.frame else encode_jpeg(confirmed.frame, quality)
        stripped = dataclasses.replace(
            event, first_seen=_with_frame(first, _NO_PIXELS), confirmed=_with_frame(confirmed, _NO_PIXELS)
        )
        return cls(stripped, dict(zip(_CLEAN_ROLES, (first_jpeg, confirmed_jpeg), strict=True)))

    @property
    def nbytes(self) -> int:
        """The memory its JPEGs (counted once when shared) and the parked vehicle's dwell crops hold."""
        jpegs = {id(jpeg): len(jpeg) for jpeg in self.jpegs.values()}
        return sum(jpegs.values()) + sum(view.crop.nbytes for view in self.event.views)

    def unpack(self) -> ViolationEvent:
        """The event with its moments' frames decoded from the JPEGs (one frame when they share one)."""
        first_jpeg, confirmed_jpeg = (self.jpegs[role] for role in _CLEAN_ROLES)
        first_frame = decode_jpeg(first_jpeg)
        confirmed_frame = first_frame if confirmed_jpeg is first_jpeg else decode_jpeg(confirmed_jpeg)
        return dataclasses.replace(
            self.event,
            first_seen=_with_frame(self.event.first_seen, first_frame),
            confirmed=_with_frame(self.event.confirmed, confirmed_frame),
        )


def _with_frame(moment: Moment, frame: Frame) -> Moment:
    return dataclasses.replace(moment, frame=frame)
