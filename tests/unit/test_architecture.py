"""Dependency direction (ARCHITECTURE.md §1): nothing imports gateway; each layer imports only what it may."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OURS = {"core", "gateway", "voice", "chat", "executor", "vault", "sandbox"}
ALLOWED: dict[str, set[str]] = {
    "core": {"core"},
    "voice": {"core", "voice"},
    "chat": {"core", "chat"},
    "vault": {"core", "vault"},
    "executor": {"core", "vault", "executor"},
    "sandbox": {"sandbox"},
    "gateway": OURS,
}
CORE_THIRD_PARTY = {"pydantic"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_layer_imports_only_what_it_may(package: str) -> None:
    offenders = []
    for path in sorted((ROOT / package).rglob("*.py")):
        bad = (_imports(path) & OURS) - ALLOWED[package]
        if bad:
            offenders.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert offenders == []


def test_core_is_pure() -> None:
    stdlib = set(sys.stdlib_module_names)
    offenders = []
    for path in sorted((ROOT / "core").rglob("*.py")):
        extra = _imports(path) - stdlib - OURS - CORE_THIRD_PARTY - {"__future__"}
        if extra:
            offenders.append(f"{path.relative_to(ROOT)} imports {sorted(extra)}")
    assert offenders == []


def test_nothing_outside_gateway_imports_gateway() -> None:
    offenders = [
        str(p.relative_to(ROOT))
        for pkg in OURS - {"gateway"}
        for p in (ROOT / pkg).rglob("*.py")
        if "gateway" in _imports(p)
    ]
    assert offenders == []
