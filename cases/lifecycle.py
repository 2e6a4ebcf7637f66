"""Case lifecycle, close to the digital city-management flow (立案 -> 派遣 -> 处置 -> 结案):
reported -> accepted | rejected; accepted -> dispatched -> resolved -> closed."""

from __future__ import annotations

from enum import StrEnum


class CaseStatus(StrEnum):
    REPORTED = "reported"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    DISPATCHED = "dispatched"
    RESOLVED = "resolved"
    CLOSED = "closed"


TRANSITIONS: dict[CaseStatus, frozenset[CaseStatus]] = {
    CaseStatus.REPORTED: frozenset({CaseStatus.ACCEPTED, CaseStatus.REJECTED}),
    CaseStatus.ACCEPTED: frozenset({CaseStatus.DISPATCHED}),
    CaseStatus.DISPATCHED: frozenset({CaseStatus.RESOLVED}),
    CaseStatus.RESOLVED: frozenset({CaseStatus.CLOSED}),
    CaseStatus.REJECTED: frozenset(),
    CaseStatus.CLOSED: frozenset(),
}
# Open311 knows only open and closed.
OPEN311_CLOSED = frozenset({CaseStatus.REJECTED, CaseStatus.RESOLVED, CaseStatus.CLOSED})


class IllegalTransition(ValueError):
    pass


def check_transition(current: CaseStatus, target: CaseStatus) -> None:
    allowed = TRANSITIONS[current]
    if target not in allowed:
        options = ", ".join(sorted(allowed)) or "none (final state)"
        raise IllegalTransition(f"a {current} case cannot become {target}; allowed: {options}")


def open311_status(status: CaseStatus) -> str:
    return "closed" if status in OPEN311_CLOSED else "open"
