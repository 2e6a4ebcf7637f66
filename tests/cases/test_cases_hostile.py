"""Hostile uploads: wrong types, bombs, truncation, lying hashes, path-like names, oversized bodies."""

from __future__ import annotations

import io
import struct

import pytest
from case_builders import images_for_case, jpeg, post_case, report, sha
from live_server import TEST_LIMITS, LiveServer
from PIL import Image

from streetwatch.cases.evidence import EvidenceRejected, check_jpeg

MAX_BYTES = int(TEST_LIMITS["STREETWATCH_CASES_MAX_EVIDENCE_BYTES"])


def png(width: int = 32, height: int = 32) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 10, 10)).save(buffer, format="PNG")
    return buffer.getvalue()


def with_dimensions(data: bytes, width: int, height: int) -> bytes:
    """Rewrite a baseline JPEG's SOF0 header to claim other dimensions (a decompression bomb's trick)."""
    at = data.index(b"\xff\xc0")
    return data[: at + 5] + struct.pack(">HH", height, width) + data[at + 9 :]


def hostile(kind: str) -> tuple[bytes, int, str]:
    """(bytes of the one evidence part, expected status, words the error must contain)."""
    good = jpeg(64, 48, seed=42)
    return {
        "png": (png(), 415, "image/png by its content; expected image/jpeg"),
        "text": (b"GIF89a but really text", 415, "image/gif"),
        "bomb": (with_dimensions(good, 30000, 30000), 413, "the limit is 20000000 pixels"),
        "tall": (with_dimensions(good, 4000, 6000), 413, "4000x6000 = 24000000 pixels"),
        "truncated": (good[: len(good) // 2], 422, "not a decodable JPEG"),
        "garbage_after_magic": (b"\xff\xd8\xff" + b"\x00" * 500, 422, "not a decodable JPEG"),
        "empty": (b"", 422, "empty"),
    }[kind]


@pytest.mark.parametrize("kind", ["png", "text", "bomb", "tall", "truncated", "garbage_after_magic", "empty"])
def test_bad_images_are_refused(sqlite_server: LiveServer, kind: str) -> None:
    data, status, words = hostile(kind)
    token, device, cameras = sqlite_server.new_device()
    body = report(device, cameras[0], {"confirmation_clean": data})
    with sqlite_server.client() as client:
        response = post_case(client, token, body, [(f"x.{kind}", data, "image/jpeg")])
    assert response.status_code == status, response.text
    assert words in response.json()["detail"]
    assert not any(sqlite_server.evidence_dir.rglob(f"{sha(data)}*"))


@pytest.mark.parametrize(
    ("listed", "sent", "words"),
    [
        ("other", "mine", "no uploaded part has it"),
        ("mine", "mine+extra", "are not in case.evidence"),
    ],
)
def test_hashes_must_match_the_json(sqlite_server: LiveServer, listed: str, sent: str, words: str) -> None:
    mine, other, extra = jpeg(seed=1), jpeg(seed=2), jpeg(seed=3)
    token, device, cameras = sqlite_server.new_device()
    body = report(device, cameras[0], {"confirmation_clean": mine if listed == "mine" else other})
    parts = [mine] + ([extra] if sent == "mine+extra" else [])
    with sqlite_server.client() as client:
        response = post_case(client, token, body, parts)
    assert response.status_code == 422
    assert words in response.json()["detail"]


@pytest.mark.parametrize("name", ["../../../../tmp/evil.jpg", "/etc/passwd", "..\\..\\win.jpg", "a\x00b.jpg"])
def test_path_like_filenames_are_ignored(sqlite_server: LiveServer, name: str, tmp_path) -> None:
    images = images_for_case(seed=hash(name) % 1000)
    token, device, cameras = sqlite_server.new_device()
    body = report(device, cameras[0], images)
    parts = [(name, data, "image/jpeg") for data in images.values()]
    with sqlite_server.client() as client:
        response = post_case(client, token, body, parts)
    assert response.status_code == 201, response.text
    for data in images.values():
        digest = sha(data)
        stored = sqlite_server.evidence_dir / digest[:2] / digest[2:4] / f"{digest}.jpg"
        assert stored.read_bytes() == data
    assert not (sqlite_server.evidence_dir.parent / "evil.jpg").exists()


def test_oversized_part_and_body(sqlite_server: LiveServer) -> None:
    token, device, cameras = sqlite_server.new_device()
    big = jpeg(900, 600, seed=9, quality=100)
    assert len(big) > MAX_BYTES
    body = report(device, cameras[0], {"confirmation_clean": big})
    with sqlite_server.client() as client:
        response = post_case(client, token, body, [big])
        assert response.status_code == 413
        assert f"larger than {MAX_BYTES} bytes" in response.json()["detail"]
        # A body over the whole-request limit is cut off before it is read.
        huge = client.post(
            "/api/v1/cases",
            content=b"x" * (12 * MAX_BYTES),  # over 6 images and the 2 MB clip at their limits
            headers={"Authorization": f"Bearer {token}", "Content-Type": "multipart/form-data; boundary=zz"},
        )
        assert huge.status_code == 413
        assert "request body is larger than" in huge.json()["detail"]


def test_too_many_parts_and_wrong_content_type(sqlite_server: LiveServer) -> None:
    token, device, cameras = sqlite_server.new_device()
    parts = [jpeg(seed=50 + i) for i in range(8)]
    body = report(device, cameras[0], {"confirmation_clean": parts[0]})
    with sqlite_server.client() as client:
        many = post_case(client, token, body, parts)
        assert many.status_code in (400, 413), many.text
        as_json = client.post("/api/v1/cases", json=body, headers={"Authorization": f"Bearer {token}"})
        assert as_json.status_code == 415
        assert "expected multipart/form-data" in as_json.json()["detail"]
        not_json = post_case(client, token, "{not json", [parts[0]], key=None)
        assert not_json.status_code == 422
        assert "not JSON" in not_json.json()["detail"]


@pytest.mark.parametrize(
    ("data", "limits", "words"),
    [
        (jpeg(100, 100), {"max_bytes": 10, "max_pixels": 10**6}, "the limit is 10"),
        (jpeg(100, 100), {"max_bytes": 10**6, "max_pixels": 9999}, "100x100 = 10000 pixels"),
        (png(), {"max_bytes": 10**6, "max_pixels": 10**6}, "image/png"),
    ],
)
def test_check_jpeg_limits(data: bytes, limits: dict, words: str) -> None:
    with pytest.raises(EvidenceRejected, match=words):
        check_jpeg(data, label="part", **limits)


END_VARIANTS = {
    "cut": lambda d: d[:-2],
    "end_marker_padded_away": lambda d: d[:-2] + b"\x00" * 4,  # Pillow decoded this one happily
    "bytes_after_the_end": lambda d: d + b"<?php system($_GET['c']); ?>",  # a polyglot's tail
}


@pytest.mark.parametrize("variant", sorted(END_VARIANTS))
def test_a_jpeg_must_end_with_its_end_marker(variant: str) -> None:
    """A complete JPEG ends with EOI (FF D9); the decoder alone accepted a missing one."""
    data = END_VARIANTS[variant](jpeg(64, 48, seed=5))
    with pytest.raises(EvidenceRejected, match=r"end-of-image marker|not a decodable JPEG"):
        check_jpeg(data, label="part", max_bytes=10**6, max_pixels=10**6)


def test_a_jpeg_without_its_end_marker_is_refused_by_the_service(sqlite_server: LiveServer) -> None:
    data = END_VARIANTS["end_marker_padded_away"](jpeg(64, 48, seed=5))
    token, device, cameras = sqlite_server.new_device()
    body = report(device, cameras[0], {"confirmation_clean": data})
    with sqlite_server.client() as client:
        response = post_case(client, token, body, [data])
    assert response.status_code == 422, response.text
    assert "end-of-image marker" in response.json()["detail"]


def test_check_jpeg_accepts_a_real_jpeg() -> None:
    data = jpeg(80, 60)
    checked = check_jpeg(data, label="part", max_bytes=10**6, max_pixels=10**6)
    assert (checked.width, checked.height, checked.sha256) == (80, 60, sha(data))
