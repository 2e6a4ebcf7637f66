"""Case-service settings: environment variables (prefix `STREETWATCH_CASES_`, plus `DATABASE_URL`)
or an env file, checked once at start. Outside dev mode, default or weak secrets are refused."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from streetwatch.errors import ConfigError

DEFAULT_DATA_DIR = Path("streetwatch-cases")
# Values people paste from tutorials; refused as secrets outside dev mode.
WEAK_SECRETS = frozenset({"changethis", "change-me", "changeme", "secret", "password", "dev", "test", "default"})
MIN_SECRET_LENGTH = 32


class StorageSettings(BaseSettings):
    """Where cases live. Admin commands (migrate, token, export) need only this, not the secret."""

    model_config = SettingsConfigDict(env_prefix="STREETWATCH_CASES_", extra="forbid", populate_by_name=True)

    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "STREETWATCH_CASES_DATABASE_URL", "database_url"),
        description="SQLAlchemy URL; default: an embedded SQLite file in data_dir",
    )
    data_dir: Path = Field(default=DEFAULT_DATA_DIR, description="home of the default SQLite file and evidence")
    evidence_dir: Path | None = Field(
        default=None,
        description="content-addressed evidence store (shared storage when several replicas run); default: "
        "`evidence/` beside a SQLite file, else in data_dir",
    )

    def resolved_database_url(self) -> str:
        if self.database_url:
            return normalise_database_url(self.database_url)
        return f"sqlite:///{(self.data_dir / 'cases.db').resolve()}"

    def resolved_evidence_dir(self) -> Path:
        if self.evidence_dir is not None:
            return self.evidence_dir.resolve()
        sqlite_file = sqlite_path(self.resolved_database_url())
        if sqlite_file is not None:
            return sqlite_file.parent / "evidence"
        return (self.data_dir / "evidence").resolve()


class ConnectionSettings(BaseSettings):
    """How long a client may take to send its request (`http_deadlines.py`, read by the HTTP protocol
    of each worker process). Defaults as Apache's mod_reqtimeout: `header=20 body=20,MinRate=500`."""

    model_config = SettingsConfigDict(env_prefix="STREETWATCH_CASES_", extra="forbid", populate_by_name=True)

    request_header_timeout_s: float = Field(
        default=20.0, gt=0, le=3600, description="a request's headers must arrive within this (else 408, closed)"
    )
    request_body_timeout_s: float = Field(
        default=20.0, gt=0, le=3600, description="a request's body must arrive within this, extended by min_rate"
    )
    request_body_min_rate: float = Field(
        default=500.0, gt=0, description="bytes per second: each this many bytes received extend the body deadline 1 s"
    )


class CaseSettings(StorageSettings, ConnectionSettings):
    """Everything the running service needs."""

    dev_mode: bool = Field(default=False, description="allow a missing or weak secret key (never in production)")
    secret_key: SecretStr | None = Field(default=None, description="signs review-page sessions and CSRF tokens")
    max_evidence_bytes: int = Field(default=5 * 1024 * 1024, gt=0, description="per evidence image")
    max_evidence_count: int = Field(
        default=16, gt=0, le=64, description="evidence parts per case (frames, their public copies, the plate crop)"
    )
    max_image_pixels: int = Field(default=40_000_000, gt=0, description="decompression-bomb guard (width*height)")
    max_clip_bytes: int = Field(default=64 * 1024 * 1024, gt=0, description="per case's MP4 clip")
    max_clip_seconds: float = Field(default=900, gt=0, le=3600, description="longest clip accepted")
    max_case_json_bytes: int = Field(default=256 * 1024, gt=0)
    evidence_min_free_bytes: int = Field(
        default=64 * 1024 * 1024,
        ge=0,
        description="below this much free space the evidence store reports itself full in /healthz",
    )
    evidence_sweep_grace_s: float = Field(
        default=3600.0,
        ge=1,
        le=30 * 86400,
        description="temp files and unreferenced images older than this are deleted by the sweep",
    )
    evidence_sweep_interval_s: float = Field(
        default=3600.0, ge=0, le=30 * 86400, description="how often each worker sweeps the store (0: only at start)"
    )
    page_size: int = Field(default=50, gt=0, le=500)
    service_codes_file: Path | None = Field(default=None, description="violation type -> city code table (YAML)")
    workflow_file: Path | None = Field(default=None, description="departments, routes and deadlines (YAML)")
    timezone: str = Field(default="Asia/Shanghai", description="the city's IANA time zone: times on the review page")
    language: str = Field(default="zh_CN", description="the review page's default language: zh_CN or en")
    open311_jurisdiction: str = Field(default="streetwatch", max_length=100)
    forward_url: str | None = Field(
        default=None, description="the city's platform (数字城管 / 12345): accepted cases are POSTed there; none = off"
    )
    forward_secret: SecretStr | None = Field(default=None, description="HMAC-SHA256 key of the forwarding signature")
    forward_timeout_s: float = Field(default=10.0, gt=0, le=300, description="per delivery attempt")
    forward_max_attempts: int = Field(default=12, ge=1, le=1000, description="then the delivery is dead-lettered")
    forward_backoff_initial_s: float = Field(default=5.0, gt=0, le=3600)
    forward_backoff_max_s: float = Field(default=1800.0, gt=0, le=86400)
    forward_poll_s: float = Field(default=2.0, gt=0, le=600, description="how often the forwarder looks for work")
    rate_limit_open311_per_minute: int = Field(
        default=10,
        ge=0,
        le=100_000,
        description="Open311 POSTs per client address a minute (a burst of that many); 0: off",
    )
    rate_limit_login_per_minute: int = Field(
        default=5, ge=0, le=100_000, description="review sign-in attempts per client address per minute; 0: off"
    )
    migrate_on_start: bool = True
    log_format: Literal["json", "text"] = "json"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @model_validator(mode="after")
    def _check_secret(self) -> CaseSettings:
        if self.dev_mode:
            return self
        if self.secret_key is None:
            raise ValueError(
                "STREETWATCH_CASES_SECRET_KEY is not set: give at least 32 random characters "
                "(python -c 'import secrets; print(secrets.token_urlsafe(48))'), "
                "or run in dev mode (serve --dev, STREETWATCH_CASES_DEV_MODE=true)"
            )
        value = self.secret_key.get_secret_value()
        if value.strip().lower() in WEAK_SECRETS or len(value) < MIN_SECRET_LENGTH or len(set(value)) < 10:
            raise ValueError(
                f"STREETWATCH_CASES_SECRET_KEY is a default or weak value ({len(value)} characters); "
                f"expected at least {MIN_SECRET_LENGTH} random characters"
            )
        return self

    @model_validator(mode="after")
    def _check_forwarding(self) -> CaseSettings:
        if self.forward_url is None:
            return self
        if not self.forward_url.startswith(("http://", "https://")):
            raise ValueError(f"STREETWATCH_CASES_FORWARD_URL must be an http(s) URL; got {self.forward_url[:60]!r}")
        secret = self.forward_secret.get_secret_value() if self.forward_secret else ""
        if len(secret) < MIN_SECRET_LENGTH and not self.dev_mode:
            raise ValueError(
                f"forwarding needs STREETWATCH_CASES_FORWARD_SECRET of at least {MIN_SECRET_LENGTH} characters "
                f"(the receiver checks the HMAC signature with it); got {len(secret)}"
            )
        return self

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone {value!r} (e.g. Asia/Shanghai)") from None
        return value

    @field_validator("language")
    @classmethod
    def _language(cls, value: str) -> str:
        from streetwatch.cases.i18n import check_language

        return check_language(value)

    @property
    def request_body_limit(self) -> int:
        """The whole multipart body: every evidence part and the clip at their limits, the JSON, and
        headroom for boundaries."""
        return (
            self.max_evidence_count * self.max_evidence_bytes
            + self.max_clip_bytes
            + self.max_case_json_bytes
            + 64 * 1024
        )

    def signing_key(self) -> bytes:
        """The configured key for review sessions and CSRF tokens; reads only (see `startup_signing_key`)."""
        if self.secret_key is None:
            raise ConfigError("no secret_key is set; outside dev mode the settings refuse to load without one")
        return self.secret_key.get_secret_value().encode()


def startup_signing_key(settings: CaseSettings) -> bytes:
    """The key one service process signs with, chosen once when it starts: the configured one, or in
    dev mode without one a random key for this process (its review sessions end with it)."""
    if settings.secret_key is None:
        return secrets.token_urlsafe(48).encode()
    return settings.signing_key()


def normalise_database_url(url: str) -> str:
    """`postgresql://` means psycopg 3 here (psycopg2 is not installed); `postgres://` is Heroku's spelling."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for in-memory databases and other backends)."""
    for prefix in ("sqlite:///", "sqlite+pysqlite:///"):
        if url.startswith(prefix) and url[len(prefix) :] not in ("", ":memory:"):
            return Path(url[len(prefix) :].split("?")[0]).resolve()
    return None


def load_settings(**overrides: object) -> CaseSettings:
    """Settings from the environment with explicit overrides (CLI flags); one clear error when invalid."""
    return _load(CaseSettings, overrides)  # type: ignore[return-value]


def load_storage_settings(**overrides: object) -> StorageSettings:
    return _load(StorageSettings, overrides)


def _load(kind: type[StorageSettings], overrides: dict[str, object]) -> StorageSettings:
    from pydantic import ValidationError

    clean = {k: v for k, v in overrides.items() if v is not None}
    try:
        return kind(**clean)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        ]
        raise ConfigError("invalid case-service settings:\n" + "\n".join(problems)) from None
