"""Letterbox with the exact geometry of ultralytics' `LetterBox` (auto=False, center=True).

Parity with ultralytics' own predict depends on every rounding here matching theirs: the
resized size is `round(side * r)`, padding is split `round(d/2 - 0.1)` / `round(d/2 + 0.1)`,
and boxes are mapped back with per-axis gains (ultralytics `scale_boxes`).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

PAD_VALUE = 114


@dataclass(frozen=True)
class LetterboxGeometry:
    """How one source frame maps into the model input."""

    src_hw: tuple[int, int]  # source frame (h, w)
    resized_wh: tuple[int, int]  # frame after resize, before padding (w, h)
    top: int
    left: int

    @classmethod
    def compute(cls, src_hw: tuple[int, int], dst_hw: tuple[int, int]) -> LetterboxGeometry:
        h0, w0 = src_hw
        h1, w1 = dst_hw
        r = min(h1 / h0, w1 / w0)
        new_w, new_h = max(round(w0 * r), 1), max(round(h0 * r), 1)
        dw, dh = (w1 - new_w) / 2, (h1 - new_h) / 2
        return cls(src_hw=(h0, w0), resized_wh=(new_w, new_h), top=round(dh - 0.1), left=round(dw - 0.1))

    def to_source(self, xyxy: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Map (N, 4) boxes from model-input pixels back to source pixels, clipped to the frame."""
        h0, w0 = self.src_hw
        gain_x, gain_y = self.resized_wh[0] / w0, self.resized_wh[1] / h0
        out = np.empty_like(xyxy)
        out[:, [0, 2]] = (xyxy[:, [0, 2]] - self.left) / gain_x
        out[:, [1, 3]] = (xyxy[:, [1, 3]] - self.top) / gain_y
        out[:, [0, 2]] = out[:, [0, 2]].clip(0, w0)
        out[:, [1, 3]] = out[:, [1, 3]].clip(0, h0)
        return out


def letterbox_into(
    frame_bgr: npt.NDArray[np.uint8], dst_hwc: npt.NDArray[np.uint8], geometry: LetterboxGeometry
) -> None:
    """Resize `frame_bgr` (H, W, 3) into the padded `dst_hwc` (h, w, 3) buffer, in place."""
    new_w, new_h = geometry.resized_wh
    if frame_bgr.shape[1] == new_w and frame_bgr.shape[0] == new_h:
        resized = frame_bgr
    else:
        resized = cv2.resize(frame_bgr, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    top, left = geometry.top, geometry.left
    # Paint only the padding strips: the resized frame overwrites the rest.
    dst_hwc[:top] = PAD_VALUE
    dst_hwc[top + new_h :] = PAD_VALUE
    dst_hwc[top : top + new_h, :left] = PAD_VALUE
    dst_hwc[top : top + new_h, left + new_w :] = PAD_VALUE
    dst_hwc[top : top + new_h, left : left + new_w] = resized


PAD_VALUE_FLOAT = np.float32(PAD_VALUE / 255.0)
_INV_255 = np.float32(1.0 / 255.0)


def letterbox_to_blob(
    frame_bgr: npt.NDArray[np.uint8], blob_chw: npt.NDArray[np.float32], geometry: LetterboxGeometry, *, pad: bool
) -> None:
    """Letterbox straight into a (3, h, w) float32 RGB [0, 1] model-input slot, in place.

    Equivalent to `letterbox_into` followed by BGR->RGB, HWC->CHW and /255, but converts only the
    resized region, one channel plane at a time (cv2.split is contiguous; the strided numpy
    transpose is not): about half the cost on a 1080p frame. The constant padding is painted only
    when `pad` is True, i.e. when this slot last held a frame of another geometry.
    """
    new_w, new_h = geometry.resized_wh
    if frame_bgr.shape[1] == new_w and frame_bgr.shape[0] == new_h:
        resized = frame_bgr
    else:
        resized = cv2.resize(frame_bgr, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    if pad:
        blob_chw[...] = PAD_VALUE_FLOAT
    top, left = geometry.top, geometry.left
    for channel, plane in enumerate(cv2.split(resized)):  # B, G, R planes
        np.multiply(plane, _INV_255, out=blob_chw[2 - channel, top : top + new_h, left : left + new_w])
