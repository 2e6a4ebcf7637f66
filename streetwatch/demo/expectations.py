"""What the demo must file, derived from the model actually used (never hard-coded counts).

Each demo camera watches one zone type. A camera whose violation needs classes the model does not
have cannot file (the COCO teacher sees no garbage or fire): it is expected to file nothing, and
the summary says why. Every other camera must file exactly one case: one ongoing violation, one case.
"""

from __future__ import annotations

from dataclasses import dataclass

from streetwatch.models.taxonomy import ViolationType

# Classes whose presence lets a violation fire (DESIGN.md table; the edge rules' defaults).
EVIDENCE_CLASSES: dict[ViolationType, frozenset[str]] = {
    ViolationType.ILLEGAL_PARKING: frozenset({"car", "bus", "truck", "motorcycle", "bicycle"}),
    ViolationType.OCCUPIED_LANE_VENDING: frozenset({"umbrella", "dining_table"}),
    ViolationType.EXPOSED_GARBAGE: frozenset({"garbage", "bin_overflow"}),
    ViolationType.OPEN_BURNING: frozenset({"fire", "smoke"}),
}

DEMO_CAMERAS: dict[str, ViolationType] = {
    "cam-parking": ViolationType.ILLEGAL_PARKING,
    "cam-garbage": ViolationType.EXPOSED_GARBAGE,
    "cam-vending": ViolationType.OCCUPIED_LANE_VENDING,
    "cam-fire": ViolationType.OPEN_BURNING,
}

SUMMARY_ORDER = (
    ViolationType.ILLEGAL_PARKING,
    ViolationType.EXPOSED_GARBAGE,
    ViolationType.OPEN_BURNING,
    ViolationType.OCCUPIED_LANE_VENDING,
)


@dataclass(frozen=True)
class Expectation:
    camera_id: str
    violation: ViolationType
    cases: int  # 1 when the model can see the evidence, else 0
    reason: str


def expectations_for(model_classes: tuple[str, ...]) -> list[Expectation]:
    have = set(model_classes)
    out = []
    for camera, violation in DEMO_CAMERAS.items():
        usable = EVIDENCE_CLASSES[violation] & have
        if usable:
            out.append(Expectation(camera, violation, 1, f"model sees {', '.join(sorted(usable))}"))
        else:
            need = ", ".join(sorted(EVIDENCE_CLASSES[violation]))
            out.append(Expectation(camera, violation, 0, f"model has none of {need}"))
    return out


def check(expected: list[Expectation], filed: dict[tuple[str, str], int]) -> list[str]:
    """Problems, one line each; empty when every camera filed what it should (and nothing else)."""
    problems = []
    for e in expected:
        got = filed.get((e.camera_id, e.violation.value), 0)
        if got != e.cases:
            problems.append(f"{e.camera_id}: expected {e.cases} {e.violation.value} case(s) ({e.reason}), got {got}")
    known = {(e.camera_id, e.violation.value) for e in expected}
    for (camera, violation), count in sorted(filed.items()):
        if (camera, violation) not in known:
            problems.append(f"{camera}: unexpected {count} {violation} case(s)")
    return problems
