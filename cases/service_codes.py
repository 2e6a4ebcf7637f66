"""The city's service codes per violation type, from a YAML file (config, not code)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from streetwatch.errors import ConfigError
from streetwatch.models.taxonomy import ViolationType


class Service(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=200)
    violation_type: ViolationType
    legacy_code: str | None = None
    group: str | None = None
    description: str | None = None


class ServiceCatalogue(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    services: list[Service] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> ServiceCatalogue:
        codes = [s.code for s in self.services]
        duplicates = sorted({c for c in codes if codes.count(c) > 1})
        if duplicates:
            raise ValueError(f"service codes must be unique; repeated: {', '.join(duplicates)}")
        missing = [v.value for v in ViolationType if not any(s.violation_type == v for s in self.services)]
        if missing:
            raise ValueError(f"every violation type needs a service code; missing: {', '.join(missing)}")
        return self

    def by_code(self, code: str) -> Service | None:
        return next((s for s in self.services if s.code == code), None)

    def for_case(self, violation_type: str, standard_code: str) -> Service:
        """The case's own code when the catalogue knows it for that type, else the type's default."""
        known = self.by_code(standard_code)
        if known is not None and known.violation_type == violation_type:
            return known
        return next(s for s in self.services if s.violation_type == violation_type)


def load_catalogue(path: Path | None = None) -> ServiceCatalogue:
    if path is None:
        text = resources.files("streetwatch.cases.config").joinpath("service_codes.yaml").read_text("utf-8")
        where = "the built-in service_codes.yaml"
    else:
        if not path.is_file():
            raise ConfigError(f"service codes file not found: {path}")
        text = path.read_text("utf-8")
        where = str(path)
    try:
        return ServiceCatalogue.model_validate(yaml.safe_load(text))
    except (ValidationError, yaml.YAMLError) as exc:
        raise ConfigError(f"invalid service codes in {where}: {exc}") from None
