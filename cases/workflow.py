"""Departments and deadlines (处置时限): which department a case goes to, and by when it must be handled.

Config, not code: `cases/config/workflow.yaml` by default, a city's own file in production.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from streetwatch.cases.config import load_table
from streetwatch.cases.lifecycle import DEADLINE_RUNNING, CaseStatus
from streetwatch.models.taxonomy import ViolationType


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Department(_Model):
    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    name: str = Field(min_length=1, max_length=100)
    name_en: str | None = None


class Route(_Model):
    """A code or a violation type (exactly one) -> the department and its deadline."""

    code: str | None = Field(default=None, max_length=32)
    violation_type: ViolationType | None = None
    department: str
    deadline_hours: float = Field(gt=0, le=24 * 90, description="处置时限: hours from dispatch to resolution")

    @model_validator(mode="after")
    def _one_key(self) -> Route:
        if (self.code is None) == (self.violation_type is None):
            raise ValueError("a route names either `code` or `violation_type`, not both or neither")
        return self


class Workflow(_Model):
    departments: list[Department] = Field(min_length=1)
    routes: list[Route] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> Workflow:
        ids = [d.id for d in self.departments]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"department ids must be unique; repeated: {', '.join(repeated)}")
        for route in self.routes:
            if route.department not in ids:
                raise ValueError(f"a route names department {route.department!r}; departments are {', '.join(ids)}")
        missing = [v.value for v in ViolationType if not any(r.violation_type == v for r in self.routes)]
        if missing:
            raise ValueError(f"every violation type needs a route; missing: {', '.join(missing)}")
        return self

    def department(self, department_id: str | None) -> Department | None:
        return next((d for d in self.departments if d.id == department_id), None)

    def route(self, code: str, violation_type: str) -> Route:
        by_code = next((r for r in self.routes if r.code == code), None)
        return by_code or next(r for r in self.routes if r.violation_type == violation_type)

    def deadline(self, code: str, violation_type: str, dispatched_at: datetime) -> datetime:
        return dispatched_at + timedelta(hours=self.route(code, violation_type).deadline_hours)


def is_overdue(status: CaseStatus, due_at: datetime | None, now: datetime) -> bool:
    """Past its deadline and still with the department (resolved cases are judged by resolved_at)."""
    return status in DEADLINE_RUNNING and due_at is not None and now > due_at


def load_workflow(path: Path | None = None) -> Workflow:
    return load_table(Workflow, path, "workflow.yaml", "workflow")
