"""JPEG bytes of evidence frames and back (OpenCV's libjpeg-turbo)."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

Frame = npt.NDArray[np.uint8]  # (H, W, 3) BGR


def encode_jpeg(frame: Frame, quality: int) -> bytes:
    ok, buffer = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:  # pragma: no cover - OpenCV encodes any uint8 BGR frame
        raise RuntimeError("JPEG encoding failed")
    return buffer.tobytes()


def decode_jpeg(jpeg: bytes) -> Frame:
    frame = cv2.imdecode(np.frombuffer(jpeg, dtype=np.uint8), cv2.IMREAD_COLOR)
    if frame is None:
        raise ValueError(f"expected JPEG bytes, got {len(jpeg)} bytes that do not decode as one")
    return frame
