"""When each pending case is due again, in a form that survives wall-clock steps and restarts.

A box's wall clock jumps: NTP steps it at boot (a box without a battery-backed clock starts in
1970 or at its last shutdown), an operator sets it, a virtual machine resumes. Due times kept as
wall-clock seconds then go wrong by the size of the step: one hour back held every retried case
for the hour. So:

- while the process runs, due times are `time.monotonic()` seconds, which never step;
- each retry also persists a wall-clock due time *and its delay* (the backoff interval), because
  the monotonic clock restarts with the machine and means nothing to the next process;
- on start a persisted due time is trusted only within [now, now + its delay]: one further ahead
  (a clock stepped back since, or set wrong at boot) or already past (stepped forward) is due at
  once, so no step delays a case by more than one backoff interval;
- while running, a step (wall minus monotonic moving by more than `STEP_TOLERANCE_S`) is logged and
  the owner re-bases the persisted due times (`persisted_due()`), so a restart after it needs no
  clamping at all.

Order among due cases: urgent first, then the order they were stored in (a sequence number, not
the wall clock, which may have stepped between two cases).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

log = logging.getLogger(__name__)

# NTP slews small errors (at most 0.5 ms/s); anything this large moved at once is a step.
STEP_TOLERANCE_S = 2.0


@dataclass
class _Due:
    at: float  # monotonic s
    urgent: bool
    seq: int  # storage order
    delay_s: float  # the backoff interval this due time came from


class RetryTimes:
    """In-memory due times of pending cases (not thread-safe: the outbox calls it under its lock)."""

    def __init__(self) -> None:
        self._due: dict[str, _Due] = {}
        self._seq = 0
        self._offset = time.time() - time.monotonic()  # wall minus monotonic, to see steps

    def __len__(self) -> int:
        return len(self._due)

    def add(self, event_id: str, urgent: bool) -> None:
        """A newly stored case: due now."""
        self._seq += 1
        self._due[event_id] = _Due(time.monotonic(), urgent, self._seq, 0.0)

    def restore(self, event_id: str, urgent: bool, wall_due: float, delay_s: float | None) -> float:
        """A pending case read back at start (call in storage order); returns the seconds it waits.

        A due time more than its own delay ahead cannot be true: the clock was stepped back (or is
        wrong since boot), and the case is due now, as is one whose time has passed (a step forward,
        or simply a long stop) and one stored before delays were kept (`delay_s` None). All of these
        are due together, so urgent ones go first among them."""
        remaining = wall_due - time.time()
        if remaining <= 0 or delay_s is None or remaining > delay_s + STEP_TOLERANCE_S:
            remaining = 0.0
        self._seq += 1
        self._due[event_id] = _Due(time.monotonic() + remaining, urgent, self._seq, delay_s or 0.0)
        return remaining

    def retry_in(self, event_id: str, delay_s: float) -> float:
        """Schedule the next attempt `delay_s` from now; returns the wall-clock due time to persist."""
        entry = self._due.get(event_id)
        if entry is not None:
            entry.at, entry.delay_s = time.monotonic() + delay_s, delay_s
        return time.time() + delay_s

    def remove(self, event_id: str) -> None:
        self._due.pop(event_id, None)

    def pick(self) -> tuple[str | None, float | None]:
        """The due case to send now (urgent first, then oldest), else None and the seconds until the
        next one is due (None: nothing pending)."""
        now = time.monotonic()
        best: tuple[bool, int, str] | None = None
        soonest: float | None = None
        for event_id, due in self._due.items():
            if due.at <= now:
                key = (not due.urgent, due.seq, event_id)
                if best is None or key < best:
                    best = key
            elif soonest is None or due.at < soonest:
                soonest = due.at
        if best is not None:
            return best[2], None
        return None, None if soonest is None else soonest - now

    def stepped(self) -> float | None:
        """The size of a wall-clock step since the last call (+ forward), or None if it did not step."""
        offset = time.time() - time.monotonic()
        step = offset - self._offset
        self._offset = offset
        if abs(step) <= STEP_TOLERANCE_S:
            return None
        log.warning(
            "the wall clock stepped %s by %.0f s: retry times follow the monotonic clock, not the step",
            "forward" if step > 0 else "back",
            abs(step),
        )
        return step

    def persisted_due(self) -> dict[str, float]:
        """Wall-clock due time of every pending case on today's clock (to re-base what is stored)."""
        wall, mono = time.time(), time.monotonic()
        return {event_id: wall + max(due.at - mono, 0.0) for event_id, due in self._due.items()}
