"""Case clips: a real H.264 MP4 filed with a case, stored beside the stills, served to reviewers only
(with byte ranges, as a browser's <video> asks); hostile clips refused with what was expected."""

from __future__ import annotations

import pytest
from case_builders import clip_ref, images_for_case, mp4, post_case, report, sha
from live_server import LiveServer

from streetwatch.cases.clips import check_mp4
from streetwatch.cases.evidence import EvidenceRejected

LIMIT = 2_000_000  # STREETWATCH_CASES_MAX_CLIP_BYTES in the tests' limits


@pytest.fixture(scope="module")
def clip() -> bytes:
    return mp4(seconds=2.0)


def file_with_clip(server: LiveServer, data: bytes, ref: dict | None, seed: int = 1, send: bool = True):
    images = images_for_case(seed)
    token, device, cameras = server.new_device()
    body = report(device, cameras[0], images, **({"clip": ref} if ref is not None else {}))
    with server.client() as client:
        response = post_case(client, token, body, list(images.values()), clip=data if send else None)
    return response, body, token


def test_a_clip_is_filed_stored_and_served_to_reviewers_only(server: LiveServer, clip: bytes) -> None:
    response, body, device_token = file_with_clip(server, clip, clip_ref(clip), seed=71)
    assert response.status_code == 201, response.text
    case = response.json()
    clips = [e for e in case["evidence"] if e["role"] == "clip"]
    assert len(clips) == 1 and clips[0]["content_type"] == "video/mp4" and clips[0]["size_bytes"] == len(clip)
    assert (clips[0]["width"], clips[0]["height"]) == (64, 48)
    digest = sha(clip)
    assert (server.evidence_dir / digest[:2] / digest[2:4] / f"{digest}.mp4").read_bytes() == clip
    url = clips[0]["url"]
    with server.reviewer_client() as reviewer:
        whole = reviewer.get(url)
        assert whole.status_code == 200 and whole.content == clip
        assert whole.headers["content-type"] == "video/mp4"
        part = reviewer.get(url, headers={"Range": "bytes=100-199"})
        assert part.status_code == 206 and part.content == clip[100:200]
        assert part.headers["content-range"] == f"bytes 100-199/{len(clip)}"
        assert whole.headers["cache-control"] == "private, no-store"  # an original: each fetch is audited
        history = reviewer.get(f"/api/v1/cases/{case['id']}").json()["history"]
        views = [h["reason"] for h in history if h["action"] == "original"]
        assert views == [f"clip {digest[:16]}"] * 2  # the whole file and the range: two views
    # Originals show faces and plates: no device, client (Open311 app) or anonymous caller gets the clip.
    for headers, status in (
        ({}, 401),
        ({"Authorization": f"Bearer {server.client_key}"}, 403),
        ({"Authorization": f"Bearer {device_token}"}, 403),
    ):
        with server.client(headers=headers) as other:
            assert other.get(url).status_code == status
    with server.client() as public:  # Open311 is public: the case without its clip
        listed = public.get(f"/open311/v2/requests/{case['id']}.json")
        assert listed.status_code == 200 and listed.json()[0]["media_url"] is None
        assert digest not in listed.text and "mp4" not in listed.text
    with server.client() as client:  # the same filing again: the same case, nothing stored twice
        again = post_case(client, device_token, body, list(images_for_case(71).values()), clip=clip)
    assert again.status_code == 200 and again.json()["id"] == case["id"]


def patched(data: bytes, at: int, new: bytes) -> bytes:
    return data[:at] + new + data[at + len(new) :]


def hostile(kind: str, clip: bytes) -> tuple[bytes, dict, int, str]:
    """(clip part, case.clip entry, expected status, words the error must contain)."""
    ref = clip_ref(clip)
    cases = {
        "jpeg": (images_for_case(5)["first_seen"], 415, "image/jpeg by its content; expected an MP4"),
        "mpeg-ts": (b"\x47" + bytes(187) + b"\x47" + bytes(500), 415, "video/mp2t"),
        "webm": (b"\x1a\x45\xdf\xa3" + bytes(100), 415, "video/webm"),
        "heif": (patched(clip, 8, b"heic"), 415, "brand 'heic', not an MP4"),
        "mpeg4-part2": (mp4(codec="mpeg4"), 415, "video codec 'mp4v'; expected an MP4"),
        "truncated": (clip[: len(clip) // 2], 422, "not a complete MP4"),
        "cut-in-a-header": (clip[:30], 422, "not a complete MP4"),
        "oversize": (clip + bytes(LIMIT), 413, f"larger than {LIMIT} bytes"),
        "too-long": (mp4(seconds=61, fps=1), 422, "lasts 61.0 s; expected more than 0 and at most 60 s"),
        "lying-size": (mp4(size=(96, 64)), 422, "case.clip says 64x48 but the MP4's video track is 96x64"),
    }
    data, status, words = cases[kind]
    ref = clip_ref(data, seconds=2.0 if kind != "too-long" else 61)
    return data, ref, status, words


@pytest.mark.parametrize(
    "kind",
    ["jpeg", "mpeg-ts", "webm", "heif", "mpeg4-part2", "truncated", "cut-in-a-header", "oversize", "too-long",
     "lying-size"],
)  # fmt: skip
def test_hostile_clips_are_refused(sqlite_server: LiveServer, clip: bytes, kind: str) -> None:
    data, ref, status, words = hostile(kind, clip)
    response, _, _ = file_with_clip(sqlite_server, data, ref, seed=80)
    assert response.status_code == status, response.text
    assert words in response.json()["detail"]
    assert not any(sqlite_server.evidence_dir.rglob(f"{sha(data)}*"))


@pytest.mark.parametrize(
    ("ref", "send", "words"),
    [
        (False, True, "a `clip` part was uploaded but the case has no `clip` entry"),
        (True, False, "but no `clip` part was uploaded"),
        ("other", True, "case.clip names"),
        ("hevc", True, "case.clip.codec is hevc but the MP4's video track is h264"),
    ],
)
def test_the_clip_part_must_match_the_case(
    sqlite_server: LiveServer, clip: bytes, ref: bool | str, send: bool, words: str
) -> None:
    entry = None
    if ref is True:
        entry = clip_ref(clip)
    elif ref == "other":
        entry = clip_ref(clip + b"x")
    elif ref == "hevc":
        entry = clip_ref(clip, codec="hevc")
    response, _, _ = file_with_clip(sqlite_server, clip, entry, seed=90, send=send)
    assert response.status_code == 422, response.text
    assert words in response.json()["detail"]


def test_every_cut_of_a_clip_is_refused(clip: bytes) -> None:
    """Whatever byte the upload stops at, the box structure shows it (nothing is decoded)."""
    assert check_mp4(clip, label="clip", max_bytes=LIMIT, max_seconds=60).codec == "h264"
    for end in range(12, len(clip), max(1, len(clip) // 97)):  # past the brand: a cut in the structure
        with pytest.raises(EvidenceRejected, match="not a complete MP4"):
            check_mp4(clip[:end], label="clip", max_bytes=LIMIT, max_seconds=60)
