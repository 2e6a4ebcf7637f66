"""Names people read for the service's enums (English msgids; the catalogue translates them)."""

from __future__ import annotations

from streetwatch.cases.i18n import N_, Locale
from streetwatch.models.taxonomy import ViolationType
from streetwatch.verdicts import EditSummary

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
# Zone kinds (an edge zone's `kind`, the case's `zone_kind`) the default event codes tell apart
# (`when.zone_kinds` in cases/config/service_codes.yaml); tests/cases/test_cases_i18n.py checks each
# has one. Kinds are the city's own identifiers: one a city adds shows as its id until it gets a label.
ZONE_KIND_LABELS: dict[str, str] = {
    "shop_front": N_("shop front"),
    "street_food": N_("street food area"),
}
# History rows that are not status changes (CaseEvent.action), as the case page names the step.
EVENT_LABELS: dict[str, str] = {
    "boxes": N_("boxes edited"),
    "original": N_("original image viewed"),  # streetwatch.cases.service.ORIGINAL_VIEWED
}


def history_note(loc: Locale, action: str, reason: str | None) -> str:
    """A history row's note as the page shows it: a box edit's summary in the page's language (the
    audit trail keeps the English line), any other note as it was written."""
    summary = EditSummary.parse(reason) if action == "boxes" and reason else None
    if summary is None:
        return reason or ""
    classes = [loc.gettext(CLASS_LABELS[c]) if c in CLASS_LABELS else c for c in summary.classes]
    return loc.gettext(
        "boxes: %(boxes)s (%(drawn)s drawn, %(corrected)s corrected, %(deleted)s model boxes deleted); "
        "classes: %(classes)s; before: %(before)s"
    ) % {
        "boxes": summary.boxes,
        "drawn": summary.drawn,
        "corrected": summary.corrected,
        "deleted": summary.deleted,
        "classes": loc.gettext(", ").join(classes) or "—",
        "before": summary.before,
    }
