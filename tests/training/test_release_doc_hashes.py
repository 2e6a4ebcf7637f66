"""Every hash the retraining guide and the model cards quote is one a shipped manifest carries (or
the text says, beside it, that it could not be checked): a quoted data hash that no manifest holds
cannot be verified by anyone reading the release."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RELEASES = REPO / "models" / "releases"
# `3a5ced45…`, `c53f002e…23b0` or a whole 64-digit digest, in backticks.
QUOTED = re.compile(r"`(?P<head>[0-9a-f]{8,64})(?:…(?P<tail>[0-9a-f]*))?`")


def manifest_digests() -> set[str]:
    """Every 64-hex-digit string anywhere in the shipped manifests."""
    found: set[str] = set()

    def walk(value: object) -> None:
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, str) and re.fullmatch(r"[0-9a-f]{64}", value):
            found.add(value)

    for manifest in RELEASES.glob("*/manifest.json"):
        walk(json.loads(manifest.read_text(encoding="utf-8")))
    return found


def documents() -> list[Path]:
    return [REPO / "docs" / "retraining.md", *sorted(RELEASES.glob("*/README.md"))]


@pytest.mark.parametrize("document", documents(), ids=lambda p: str(p.relative_to(REPO)))
def test_quoted_hashes_are_carried_by_a_shipped_manifest_or_marked_unverified(document: Path) -> None:
    digests = manifest_digests()
    lines = document.read_text(encoding="utf-8").splitlines()
    unmatched = []
    for number, line in enumerate(lines):
        for quoted in QUOTED.finditer(line):
            head, tail = quoted["head"], quoted["tail"] or ""
            if any(d.startswith(head) and d.endswith(tail) for d in digests):
                continue
            nearby = " ".join(lines[max(0, number - 1) : number + 2])
            if "unverified" not in nearby:
                unmatched.append(f"line {number + 1}: {quoted[0]}")
    assert not unmatched, f"{document.name} quotes hashes no shipped manifest carries: {unmatched}"


def test_the_pattern_finds_short_and_whole_digests() -> None:
    text = "data `a5fa5edd…`, file `c53f002e…23b0`, whole `" + "ab" * 32 + "`, not `v1.1`"
    assert [m[0] for m in QUOTED.finditer(text)] == ["`a5fa5edd…`", "`c53f002e…23b0`", f"`{'ab' * 32}`"]
