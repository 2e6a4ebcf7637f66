"""`streetwatch cases ...` admin commands, as the demo and operators run them."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from streetwatch.cases import migrate
from streetwatch.cli import main


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
    """`streetwatch cases ARGS` in this process (the same `main` the console script runs), with a clean env."""
    for name in list(os.environ):
        if name.startswith("STREETWATCH_CASES_") or name == "DATABASE_URL":
            monkeypatch.delenv(name)

    def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
        for key, value in (env or {}).items():
            monkeypatch.setenv(key, value)
        capsys.readouterr()
        code = main(["cases", *args])
        out = capsys.readouterr()
        return Result(code, out.out, out.err)

    return invoke


def test_tokens_non_interactively(run, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'city.db'}"
    created = run("token", "create", "--db", db, "--device", "edge-7", "--cameras", "cam-a,cam-b")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert token.startswith("swd_") and "\n" not in token and len(token) > 40  # stdout is the token alone
    assert "shown only once" in created.stderr
    reviewer = run("token", "create", "--db", db, "--reviewer", "alice")
    assert reviewer.stdout.startswith("swr_")
    listing = run("token", "list", "--db", db)
    assert "edge-7" in listing.stdout and "cam-a,cam-b" in listing.stdout and "alice" in listing.stdout
    assert token not in listing.stdout  # secrets are never listed
    assert run("token", "revoke", "--db", db, "1").stdout.startswith("revoked device token #1")
    assert "Z  -" not in run("token", "list", "--db", db).stdout.splitlines()[1]  # now has a revoked time


@pytest.mark.parametrize(
    ("command", "args", "words"),
    [
        (["token", "create"], ["--device", "edge-1"], "needs at least one camera"),
        (["token", "create"], ["--device", "bad id!", "--cameras", "c1"], "not a valid device/camera id"),
        (["token", "create"], ["--reviewer", "x", "--cameras", "c1"], "only device tokens carry cameras"),
        (["token", "revoke"], ["99"], "no token with id 99"),
        (["serve"], ["--port", "0"], "STREETWATCH_CASES_SECRET_KEY is not set"),
    ],
)
def test_user_mistakes_are_one_line(run, tmp_path: Path, command: list[str], args: list[str], words: str) -> None:
    result = run(*command, "--db", f"sqlite:///{tmp_path / 'c.db'}", *args)
    assert result.returncode == 2, result.stderr
    assert words in result.stderr and "Traceback" not in result.stderr


def test_weak_secret_refused_by_serve(run, tmp_path: Path) -> None:
    result = run("serve", "--db", f"sqlite:///{tmp_path / 'c.db'}", env={"STREETWATCH_CASES_SECRET_KEY": "changethis"})
    assert result.returncode == 2
    assert "default or weak" in result.stderr


def test_migrate_reports_the_revision(run, tmp_path: Path) -> None:
    result = run("migrate", "--db", f"sqlite:///{tmp_path / 'm.db'}")
    assert result.returncode == 0, result.stderr
    assert f"at revision {migrate.head_revision()}" in result.stdout
