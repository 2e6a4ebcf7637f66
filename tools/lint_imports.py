"""Check the import contracts of pyproject.toml ([tool.importlinter]) on the `streetwatch` namespace.

import-linter (grimp) finds a package's modules by walking the folder of its root package, but
`setup.py` installs the owner's top-level folders (`models/`, `inference/`, ...) as subpackages of
`streetwatch` from beside it. This lays out the installed shape once, as links in a temporary
folder (`streetwatch/<area>` -> `<area>/`), puts it first on the path and runs `lint-imports`.
Usage: python tools/lint_imports.py [lint-imports options]; exits with lint-imports' status.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def areas() -> dict[str, str]:
    """setup.py's AREAS (package -> folder), read without running setup()."""
    tree = ast.parse((REPO / "setup.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "AREAS" for t in node.targets):
            return ast.literal_eval(node.value)
    raise SystemExit("setup.py: no AREAS mapping found")


def lay_out(root: Path) -> None:
    top = root / "streetwatch"
    top.mkdir()
    for entry in (REPO / "streetwatch").iterdir():
        (top / entry.name).symlink_to(entry)
    for package, folder in areas().items():
        if package != "streetwatch":
            (top / package.split(".", 1)[1]).symlink_to(REPO / folder)


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory(prefix="streetwatch-imports-") as tmp:
        lay_out(Path(tmp))
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([tmp, os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
        lint = Path(sys.executable).with_name("lint-imports")
        cmd = [str(lint), str(REPO / "pyproject.toml"), "--no-cache", *argv]
        # Not from the repository: lint-imports puts the working folder first on the path, and the
        # repository's own `streetwatch/` folder would hide the laid-out one.
        return subprocess.run(cmd, cwd=tmp, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
