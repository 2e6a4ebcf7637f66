"""Builders for case-service tests: real JPEGs, contract-valid case JSON, multipart filings."""

from __future__ import annotations

import hashlib
import io
import json
import tempfile
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

from streetwatch.contract import CaseReport

ROLES = ("first_seen", "first_seen_clean", "confirmation", "confirmation_clean")


def jpeg(width: int = 64, height: int = 48, seed: int = 0, quality: int = 85) -> bytes:
    """A real JPEG of random noise (noise compresses badly: size grows with the pixel count)."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)  # (H, W, 3)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def mp4(
    seconds: float = 2.0,
    fps: int = 10,
    codec: str = "libx264",
    size: tuple[int, int] = (64, 48),
    frame_at: Callable[[int], np.ndarray] | None = None,
) -> bytes:
    """A real MP4 (moov first, as the edge writes it) of `frame_at(i)` ((H, W, 3) RGB) or moving
    noise, encoded with PyAV."""
    import av

    rng = np.random.default_rng(int(seconds * 1000) + fps)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "clip.mp4"
        with av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"}) as container:
            stream = container.add_stream(codec, rate=Fraction(fps, 1))
            stream.width, stream.height = size
            stream.pix_fmt = "yuv420p"
            for i in range(int(seconds * fps)):
                if frame_at is not None:
                    pixels = frame_at(i)
                else:
                    pixels = rng.integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)  # (H, W, 3)
                for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
        return path.read_bytes()


def clip_ref(data: bytes, codec: str = "h264", size: tuple[int, int] = (64, 48), seconds: float = 2.0) -> dict:
    """The case's `clip` entry describing `data`."""
    starts = datetime.now(UTC) - timedelta(minutes=6, seconds=5)
    return {
        "sha256": sha(data),
        "codec": codec,
        "width": size[0],
        "height": size[1],
        "starts_at": starts.isoformat(),
        "duration_s": seconds,
    }


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def images_for_case(seed: int, roles: tuple[str, ...] = ROLES, width: int = 64, height: int = 48) -> dict[str, bytes]:
    return {role: jpeg(width, height, seed=seed * 10 + i) for i, role in enumerate(roles)}


def report(
    device_id: str,
    camera_id: str,
    images: dict[str, bytes],
    *,
    violation_type: str = "illegal_parking",
    lat: float = 31.23,
    lon: float = 121.47,
    confirmed_at: datetime | None = None,
    **overrides: object,
) -> dict:
    confirmed = confirmed_at or datetime.now(UTC)
    body = {
        "event_id": str(uuid.uuid4()),
        "device_id": device_id,
        "camera_id": camera_id,
        "violation_type": violation_type,
        "standard_code": "05-05",
        "first_seen": (confirmed - timedelta(minutes=6)).isoformat(),
        "confirmed_at": confirmed.isoformat(),
        "zone_id": "zone-1",
        "location": {"lat": lat, "lon": lon, "address": "1 Example Road", "grid_code": "310101-001"},
        "detections": [{"class": "car", "confidence": 0.91, "box": [10.0, 8.0, 40.0, 30.0], "tracker_id": 7}],
        "model": {"name": "streetwatch-yolo11n", "version": "2026.1", "sha256": "a" * 64},
        "evidence": [{"role": role, "sha256": sha(data)} for role, data in images.items()],
        "frame_size": [64, 48],
    }
    body.update(overrides)
    CaseReport.model_validate(body)  # builders make valid cases unless a test breaks them on purpose
    return body


def post_case(
    client: httpx.Client,
    token: str | None,
    body: dict | str,
    parts: list[bytes] | list[tuple[str, bytes, str]],
    *,
    key: str | bool | None = True,
    clip: bytes | None = None,
) -> httpx.Response:
    """File a case. `key=True` sends the event id as Idempotency-Key, a string sends that, None sends none."""
    text = body if isinstance(body, str) else json.dumps(body)
    headers = {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if key is True and isinstance(body, dict):
        headers["Idempotency-Key"] = body["event_id"]
    elif isinstance(key, str):
        headers["Idempotency-Key"] = key
    files = [
        ("evidence", p if isinstance(p, tuple) else (f"frame{i}.jpg", p, "image/jpeg")) for i, p in enumerate(parts)
    ]
    if clip is not None:
        files.append(("clip", ("clip.mp4", clip, "video/mp4")))
    return client.post("/api/v1/cases", data={"case": text}, files=files, headers=headers)


def file_new(client: httpx.Client, token: str, device: str, camera: str, seed: int, **kw: object) -> dict:
    images = images_for_case(seed)
    body = report(device, camera, images, **kw)
    response = post_case(client, token, body, list(images.values()))
    if response.status_code != 201:
        raise AssertionError(f"filing failed: {response.status_code} {response.text}")
    return response.json()
