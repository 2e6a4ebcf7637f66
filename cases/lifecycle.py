"""Case lifecycle on the digital city-management (数字城管) flow of a command centre:

    reported (上报, 待受理) ─► accepted (受理/立案) ─► dispatched (派遣) ─► resolved (处置完毕)
        │                                                   ▲                  │
        └─► rejected (作废, with its reason)                └── 核查不通过 ───┤
                                                                               ▼
                                                   closed (结案) ◄── verified (核查通过)

A rejected case is final (作废). 核查 (verification on site) either sends the case back to the
department (resolved -> dispatched, a reason is kept) or passes it (verified); 结案 closes it.
"""

from __future__ import annotations

from enum import StrEnum

from streetwatch.cases.i18n import N_


class CaseStatus(StrEnum):
    REPORTED = "reported"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    DISPATCHED = "dispatched"
    RESOLVED = "resolved"
    VERIFIED = "verified"
    CLOSED = "closed"


TRANSITIONS: dict[CaseStatus, frozenset[CaseStatus]] = {
    CaseStatus.REPORTED: frozenset({CaseStatus.ACCEPTED, CaseStatus.REJECTED}),
    CaseStatus.ACCEPTED: frozenset({CaseStatus.DISPATCHED}),
    CaseStatus.DISPATCHED: frozenset({CaseStatus.RESOLVED}),
    CaseStatus.RESOLVED: frozenset({CaseStatus.VERIFIED, CaseStatus.DISPATCHED}),
    CaseStatus.VERIFIED: frozenset({CaseStatus.CLOSED}),
    CaseStatus.REJECTED: frozenset(),
    CaseStatus.CLOSED: frozenset(),
}
# Transitions that need a reason: 作废, and a failed 核查 sending the case back.
NEEDS_REASON: frozenset[tuple[CaseStatus, CaseStatus]] = frozenset(
    {
        (CaseStatus.REPORTED, CaseStatus.REJECTED),
        (CaseStatus.RESOLVED, CaseStatus.DISPATCHED),
    }
)
# Open311 knows only open and closed.
OPEN311_CLOSED = frozenset({CaseStatus.REJECTED, CaseStatus.RESOLVED, CaseStatus.VERIFIED, CaseStatus.CLOSED})
# A case whose department is working on it: the deadline (处置时限) runs.
DEADLINE_RUNNING = frozenset({CaseStatus.DISPATCHED})
# "A reviewer accepted it" (export, forwarding): every status past 立案.
ACCEPTED_STATUSES = (
    CaseStatus.ACCEPTED,
    CaseStatus.DISPATCHED,
    CaseStatus.RESOLVED,
    CaseStatus.VERIFIED,
    CaseStatus.CLOSED,
)

# The centre's names for the statuses (translated by the catalogue; English msgids).
STATUS_LABELS: dict[CaseStatus, str] = {
    CaseStatus.REPORTED: N_("Reported"),
    CaseStatus.ACCEPTED: N_("Accepted (case opened)"),
    CaseStatus.DISPATCHED: N_("Dispatched"),
    CaseStatus.RESOLVED: N_("Resolved (awaiting verification)"),
    CaseStatus.VERIFIED: N_("Verified"),
    CaseStatus.CLOSED: N_("Closed"),
    CaseStatus.REJECTED: N_("Rejected (void)"),
}
# The workflow step each transition is, as the page's buttons name it.
ACTION_LABELS: dict[CaseStatus, str] = {
    CaseStatus.ACCEPTED: N_("Accept"),
    CaseStatus.REJECTED: N_("Reject"),
    CaseStatus.DISPATCHED: N_("Dispatch"),
    CaseStatus.RESOLVED: N_("Mark resolved"),
    CaseStatus.VERIFIED: N_("Verify"),
    CaseStatus.CLOSED: N_("Close"),
}


class IllegalTransition(ValueError):
    pass


def check_transition(current: CaseStatus, target: CaseStatus, reason: str | None = None) -> None:
    allowed = TRANSITIONS[current]
    if target not in allowed:
        options = ", ".join(sorted(allowed)) or "none (final state)"
        raise IllegalTransition(f"a {current} case cannot become {target}; allowed: {options}")
    if (current, target) in NEEDS_REASON and not (reason and reason.strip()):
        raise IllegalTransition(f"a {current} case becoming {target} needs a reason")


def open311_status(status: CaseStatus) -> str:
    return "closed" if status in OPEN311_CLOSED else "open"
