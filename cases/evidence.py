"""Evidence images: sniffed from their bytes, decoded under a pixel limit, stored by sha256
(clips, MP4, are checked in cases/clips.py and stored here beside the images).

The filename a client sends is never used: the store path is derived from the content hash only,
so a part named `../../etc/passwd` lands where every other image lands.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

JPEG_MAGIC = b"\xff\xd8\xff"
JPEG_EOI = b"\xff\xd9"  # end of image: Pillow decodes a cut-off file by filling in the tail
JPEG_CONTENT_TYPE = "image/jpeg"


# The errors a full store answers with: the disk (ENOSPC) or the service's quota on it (EDQUOT).
FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
TEMP_PREFIX = ".incoming-"


class EvidenceStoreFull(OSError):
    """The store has no room for an image. The filing can succeed later, so the service answers 507."""


class EvidenceRejected(ValueError):
    """An upload that is not an acceptable image; `status` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class CheckedImage:
    sha256: str
    data: bytes
    width: int
    height: int
    content_type: str = JPEG_CONTENT_TYPE


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sniff(data: bytes) -> str:
    """The content type from the first bytes; only JPEG is accepted as evidence."""
    if data.startswith(JPEG_MAGIC):
        return JPEG_CONTENT_TYPE
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "application/octet-stream"


def check_jpeg(data: bytes, *, label: str, max_bytes: int, max_pixels: int, sha256: str | None = None) -> CheckedImage:
    """Accept `data` only if it is a complete JPEG within the size and pixel limits. `sha256`: the
    digest of `data` when the caller already has it (an upload is hashed once)."""
    from PIL import Image

    if len(data) > max_bytes:
        raise EvidenceRejected(f"{label} is {len(data)} bytes; the limit is {max_bytes}", status=413)
    if not data:
        raise EvidenceRejected(f"{label} is empty; expected a JPEG image")
    kind = sniff(data)
    if kind != JPEG_CONTENT_TYPE:
        raise EvidenceRejected(f"{label} is {kind} by its content; expected image/jpeg", status=415)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=["JPEG"])
            width, height = image.size  # read from the header, before any pixel is decoded
            if width * height > max_pixels:
                raise EvidenceRejected(
                    f"{label} is {width}x{height} = {width * height} pixels; the limit is {max_pixels}", status=413
                )
            image.load()  # a full decode: truncated or corrupt data fails here
    except EvidenceRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow's own guard fires in open() for sizes far beyond its default limit.
        raise EvidenceRejected(
            f"{label} is too large to decode ({exc}); the limit is {max_pixels} pixels", 413
        ) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise EvidenceRejected(f"{label} is not a decodable JPEG: {exc}") from None
    if not data.endswith(JPEG_EOI):
        raise EvidenceRejected(
            f"{label} does not end with the JPEG end-of-image marker (FF D9); the file is cut off "
            f"(last bytes {data[-4:].hex(' ')})"
        )
    return CheckedImage(sha256=sha256 or sha256_hex(data), data=data, width=width, height=height)


SUFFIXES = {JPEG_CONTENT_TYPE: ".jpg", "video/mp4": ".mp4"}  # the content types evidence may have


class StoredFile(Protocol):
    """What the store keeps: checked bytes (a `CheckedImage`, a `CheckedClip`)."""

    @property
    def sha256(self) -> str: ...
    @property
    def data(self) -> bytes: ...
    @property
    def content_type(self) -> str: ...


class EvidenceStore:
    """Content-addressed files: `<root>/<aa>/<bb>/<sha256>.jpg` (`.mp4` for clips). Writes are atomic
    and idempotent, so replicas sharing one directory (NFS, a mounted bucket) may store the same
    file at once."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, sha256: str, content_type: str = JPEG_CONTENT_TYPE) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a sha256 hex digest: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / f"{sha256}{SUFFIXES[content_type]}"

    def put(self, image: StoredFile) -> bool:
        """Store `image`; True when this call wrote the file, False when it was already there.

        An existing file gets a fresh mtime: the sweep (`evidence_sweep.py`) deletes only unreferenced
        files older than its grace period, so a filing that reuses an old orphan keeps it alive until
        its case is committed."""
        target = self.path(image.sha256, image.content_type)
        if target.exists():
            try:
                os.utime(target)
            except FileNotFoundError:  # swept a moment ago: write it again below
                pass
            else:
                return False
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=TEMP_PREFIX)
        except OSError as exc:
            raise _full_or_not(exc, image) from exc
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(image.data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException as exc:
            Path(tmp).unlink(missing_ok=True)
            if isinstance(exc, OSError):
                raise _full_or_not(exc, image) from exc
            raise
        return True

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def writable(self) -> bool:
        return os.access(self.root, os.W_OK)

    def free_bytes(self) -> int:
        """Bytes an unprivileged writer may still use on the store's file system."""
        stats = os.statvfs(self.root)
        return stats.f_bavail * stats.f_frsize

    def health(self, min_free_bytes: int) -> str:
        """ "ok", or what is wrong: a store that is not writable or has less than `min_free_bytes` left
        cannot promise to take the next case."""
        if not self.writable():
            return "not writable"
        try:
            free = self.free_bytes()
        except OSError as exc:
            return f"unreadable: {exc.strerror}"
        if free < min_free_bytes:
            return f"full: {free} bytes free, fewer than the {min_free_bytes} required"
        return "ok"


def _full_or_not(exc: OSError, image: CheckedImage) -> OSError:
    if exc.errno in FULL_ERRNOS:
        return EvidenceStoreFull(
            exc.errno, f"the evidence store has no room for a {len(image.data)}-byte image ({exc.strerror})"
        )
    return exc
