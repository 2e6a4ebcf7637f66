"""The city's event codes (数字城管 事件 大类-小类) per violation type, from a YAML file (config, not code).

The service, not the edge box, decides a case's code: one table, kept by the city, picks the code
from what the case shows (the detected classes, the zone's kind). The code the box sent is kept
beside it (`filed_code`) for the audit.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from streetwatch.cases.config import load_table
from streetwatch.models.taxonomy import CLASS_NAMES, ViolationType


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Category(_Model):
    """大类 (major category)."""

    code: str = Field(min_length=1, max_length=16)
    name: str = Field(min_length=1, max_length=100)
    name_en: str | None = None


class When(_Model):
    """When an entry applies to a case; every given condition must hold."""

    classes: tuple[str, ...] = Field(default=(), description="any of these classes among the case's detections")
    zone_kinds: tuple[str, ...] = Field(default=(), description="the zone's kind (edge zone `kind`) is one of these")

    @field_validator("classes")
    @classmethod
    def _known(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [c for c in value if c not in CLASS_NAMES]
        if unknown:
            raise ValueError(f"unknown class {unknown[0]!r}; taxonomy classes are {', '.join(CLASS_NAMES)}")
        return value

    def matches(self, classes: frozenset[str], zone_kind: str | None) -> bool:
        if self.classes and not classes.intersection(self.classes):
            return False
        return not (self.zone_kinds and zone_kind not in self.zone_kinds)


class Service(_Model):
    """小类 (sub-category): one code a case can carry."""

    code: str = Field(min_length=1, max_length=32)
    category: str | None = Field(default=None, description="the 大类 code")
    name: str = Field(min_length=1, max_length=200)
    name_en: str | None = None
    violation_type: ViolationType
    when: When | None = None
    basis: Literal["base", "local_extension", "unverified"] = Field(
        default="unverified", description="base standard, a city's local extension, or not checked"
    )
    source: str | None = Field(default=None, max_length=500, description="where the code was taken from")
    description: str | None = None


class ServiceCatalogue(_Model):
    categories: list[Category] = Field(default_factory=list)
    services: list[Service] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> ServiceCatalogue:
        codes = [s.code for s in self.services]
        duplicates = sorted({c for c in codes if codes.count(c) > 1})
        if duplicates:
            raise ValueError(f"service codes must be unique; repeated: {', '.join(duplicates)}")
        known = {c.code for c in self.categories}
        for service in self.services:
            if service.category is not None and service.category not in known:
                raise ValueError(
                    f"service {service.code} names category {service.category!r}, which `categories` does not list"
                )
        missing = [v.value for v in ViolationType if not any(s.violation_type == v for s in self.services)]
        if missing:
            raise ValueError(f"every violation type needs a service code; missing: {', '.join(missing)}")
        return self

    def by_code(self, code: str) -> Service | None:
        return next((s for s in self.services if s.code == code), None)

    def category_of(self, service: Service) -> Category | None:
        return next((c for c in self.categories if c.code == service.category), None)

    def of_type(self, violation_type: str) -> list[Service]:
        return [s for s in self.services if s.violation_type == violation_type]

    def default_for(self, violation_type: str) -> Service:
        """The type's code when nothing is known of the case: its first entry without conditions."""
        entries = self.of_type(violation_type)
        return next((s for s in entries if s.when is None), entries[0])

    def resolve(self, violation_type: str, classes: Iterable[str], zone_kind: str | None) -> Service:
        """The code for a case: the first entry of its type whose `when` holds."""
        seen = frozenset(classes)
        for service in self.of_type(violation_type):
            if service.when is None or service.when.matches(seen, zone_kind):
                return service
        return self.default_for(violation_type)

    def for_case(self, violation_type: str, standard_code: str) -> Service:
        """A stored case's entry: its code when the catalogue knows it for that type, else the type's default
        (a case reclassified by a reviewer, or coded by an older table)."""
        known = self.by_code(standard_code)
        if known is not None and known.violation_type == violation_type:
            return known
        return self.default_for(violation_type)


def load_catalogue(path: Path | None = None) -> ServiceCatalogue:
    return load_table(ServiceCatalogue, path, "service_codes.yaml", "service codes")
