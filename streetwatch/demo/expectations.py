"""What the demo must file, derived from the edge config it runs and the model it uses.

Each zone of the demo's edge config watches for one violation, with the evidence classes its rule
names (the agent's own rule configuration, not a copy). A zone whose classes its camera's model
does not have cannot file (the COCO teacher sees no garbage or fire): it is expected to file nothing,
and the summary says why. Every other zone must file exactly one case: one ongoing violation, one case.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from streetwatch.edge.config import EdgeConfig
from streetwatch.edge.vending import evidence_classes
from streetwatch.models.taxonomy import ViolationType

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


def expectations_for(
    config: EdgeConfig, model_classes: tuple[str, ...], camera_classes: Mapping[str, tuple[str, ...]] | None = None
) -> list[Expectation]:
    """`model_classes`: the box model's; `camera_classes`: those of cameras that run their own model."""
    camera_classes = camera_classes or {}
    out = []
    for camera in config.cameras:
        have = set(camera_classes.get(camera.id, model_classes))
        for zone in camera.zones:
            rule = config.zone_rule(zone)
            wanted = set(rule.classes) | set(getattr(rule, "proxy_classes", ()))
            usable = set(evidence_classes(rule, tuple(have)))
            if usable:
                out.append(Expectation(camera.id, zone.violation, 1, f"model sees {', '.join(sorted(usable))}"))
            else:
                out.append(Expectation(camera.id, zone.violation, 0, f"model has none of {', '.join(sorted(wanted))}"))
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
