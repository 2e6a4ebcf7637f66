"""Names people read for the service's enums (English msgids; the catalogue translates them)."""

from __future__ import annotations

from streetwatch.cases.i18n import N_
from streetwatch.models.taxonomy import ViolationType

VIOLATION_LABELS: dict[ViolationType, str] = {
    ViolationType("illegal_parking"): N_("Illegal parking"),
    ViolationType("occupied_lane_vending"): N_("Street vending"),
    ViolationType("exposed_garbage"): N_("Exposed garbage"),
    ViolationType("open_burning"): N_("Open burning"),
}
BASIS_LABELS: dict[str, str] = {
    "base": N_("base standard"),
    "local_extension": N_("local extension"),
    "unverified": N_("unverified"),
}
# streetwatch.verdicts.REJECT_REASON_LABELS, spelled out so that the catalogue's extraction finds
# them (tests/cases/test_cases_i18n.py checks the two lists agree).
REJECT_REASON_MSGIDS: tuple[str, ...] = (
    N_("false detection (the object is not there)"),
    N_("not a violation here / permitted (the objects are real)"),
    N_("duplicate of another case"),
    N_("camera problem (blurred, moved, dark frame)"),
)

# What a reviewer reads for a model class (box labels, the box editor's class list); the taxonomy
# name stays the value the API takes. tests/cases/test_cases_i18n.py checks every class has one.
CLASS_LABELS: dict[str, str] = {
    "person": N_("person"),
    "bicycle": N_("bicycle"),
    "car": N_("car"),
    "motorcycle": N_("motorcycle"),
    "bus": N_("bus"),
    "truck": N_("truck"),
    "umbrella": N_("umbrella"),
    "dining_table": N_("table"),
    "garbage": N_("garbage"),
    "garbage_bin": N_("garbage bin"),
    "bin_overflow": N_("overflowing bin"),
    "fire": N_("fire"),
    "smoke": N_("smoke"),
    "stall": N_("stall"),
}
# Evidence frames (streetwatch.contract.EvidenceRole values), as the page names them.
ROLE_LABELS: dict[str, str] = {
    "first_seen": N_("first seen"),
    "first_seen_clean": N_("first seen, clean"),
    "confirmation": N_("confirmation"),
    "confirmation_clean": N_("confirmation, clean"),
    "plate": N_("plate"),
}
# History rows that are not status changes (CaseEvent.action), as the case page names the step.
EVENT_LABELS: dict[str, str] = {
    "boxes": N_("boxes edited"),
    "original": N_("original image viewed"),  # streetwatch.cases.service.ORIGINAL_VIEWED
}
