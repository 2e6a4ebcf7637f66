"""Settings: secrets refused outside dev mode, database URLs, evidence location."""

from __future__ import annotations

from pathlib import Path

import pytest

from streetwatch.cases.service_codes import load_catalogue
from streetwatch.cases.settings import load_settings, load_storage_settings, normalise_database_url
from streetwatch.errors import ConfigError

STRONG = "Vq3x9Lr2KpZ8mT4nW7yB1cD6fG0hJ5sA"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "STREETWATCH_CASES_SECRET_KEY", "STREETWATCH_CASES_DEV_MODE"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    ("secret", "words"),
    [
        (None, "STREETWATCH_CASES_SECRET_KEY is not set"),
        ("changethis", "default or weak"),
        ("short-but-random-9", "default or weak"),
        ("a" * 40, "default or weak"),
    ],
)
def test_weak_secrets_are_refused_outside_dev_mode(secret: str | None, words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        load_settings(secret_key=secret)
    assert load_settings(secret_key=secret, dev_mode=True).dev_mode


def test_a_strong_secret_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREETWATCH_CASES_SECRET_KEY", STRONG)
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@db:5432/city")
    settings = load_settings()
    assert settings.signing_key() == STRONG.encode()
    assert settings.resolved_database_url() == "postgresql+psycopg://u:p@db:5432/city"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://a@h/d", "postgresql+psycopg://a@h/d"),
        ("postgresql://a@h/d", "postgresql+psycopg://a@h/d"),
        ("postgresql+psycopg://a@h/d", "postgresql+psycopg://a@h/d"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_database_urls(url: str, expected: str) -> None:
    assert normalise_database_url(url) == expected


def test_evidence_lives_beside_a_sqlite_file(tmp_path: Path) -> None:
    storage = load_storage_settings(database_url=f"sqlite:///{tmp_path}/city/cases.db")
    assert storage.resolved_evidence_dir() == tmp_path / "city" / "evidence"
    explicit = load_storage_settings(database_url="postgresql://h/d", evidence_dir=tmp_path / "nfs")
    assert explicit.resolved_evidence_dir() == tmp_path / "nfs"


def test_unknown_settings_and_bad_limits_are_refused() -> None:
    with pytest.raises(ConfigError, match="max_evidence_count"):
        load_settings(dev_mode=True, max_evidence_count=0)
    with pytest.raises(ConfigError, match="Extra inputs are not permitted"):
        load_settings(dev_mode=True, colour="blue")


def test_service_codes_file(tmp_path: Path) -> None:
    catalogue = load_catalogue()
    assert catalogue.for_case("illegal_parking", "05-06").code == "05-06"
    assert catalogue.for_case("illegal_parking", "01-27").code == "05-05"  # a code of another type: the default
    partial = tmp_path / "codes.yaml"
    partial.write_text('services:\n  - {code: "1", name: parking, violation_type: illegal_parking}\n')
    with pytest.raises(ConfigError, match="missing: occupied_lane_vending, exposed_garbage, open_burning"):
        load_catalogue(partial)
    with pytest.raises(ConfigError, match="not found"):
        load_catalogue(tmp_path / "nope.yaml")
