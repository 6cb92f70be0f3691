"""What pip installs: bayqa's packages only (the HTTP layer as bayqa.api, never a top-level "api"), and all of them."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_folder_is_installed_under_bayqa() -> None:
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    listed = set(setuptools["packages"])
    assert all(name == "bayqa" or name.startswith("bayqa.") for name in listed), listed
    dirs = setuptools["package-dir"]
    found = set()
    for name, folder in dirs.items():
        base = ROOT / folder
        found |= {".".join([name, *p.parent.relative_to(base).parts]) for p in base.rglob("__init__.py")}
    assert found == listed, f"package folders not listed in pyproject.toml: {sorted(found - listed)}; listed but gone: {sorted(listed - found)}"
