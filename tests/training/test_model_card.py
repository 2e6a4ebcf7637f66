"""The one model-card renderer reproduces the shipped cards from their typed manifests."""

from __future__ import annotations

from pathlib import Path

import pytest

from streetwatch.models.registry import find_release
from streetwatch.training.model_card import render_model_card

NOTES = "\x00notes\x00"


def test_the_rebuilt_teacher_card_is_rendered_exactly_from_its_manifest() -> None:
    release = find_release("coco-teacher")
    assert render_model_card(release.manifest) == (release.folder / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", ["street-v1", "street-v1.1"])
def test_a_trained_card_is_rendered_from_its_manifest_around_the_authors_notes(name: str) -> None:
    """Everything but the author's notes (targets, honest status) is generated: the shipped card has it verbatim."""
    release = find_release(name)
    head, tail = render_model_card(release.manifest, NOTES).split(NOTES)
    shipped = (release.folder / "README.md").read_text(encoding="utf-8")
    assert shipped.startswith(head)
    assert tail.strip() in shipped[len(head) :]
    assert f"`{release.sha256[:16]}…`" in head and "mAP50" in head


def test_notes_land_in_the_card(tmp_path: Path) -> None:
    release = find_release("coco-teacher")
    card = render_model_card(release.manifest, "## Status\n\nStill the default teacher.")
    assert card.endswith("Created 2026-11-23T21:42:38Z.\n\n## Status\n\nStill the default teacher.\n")
