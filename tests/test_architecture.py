"""The shape of the code: the engine stays a library, and the import graph has no cycle.

Both checks read the source with :mod:`ast` (nothing is imported), so a new module is covered the day it lands.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("capture", "cli")
# The engine knows no command line, no terminal UI and no application settings (flags, CAPREC_* variables, the
# config file, batch plans): those live in cli/ (cli.settings).
BANNED_IN_ENGINE = ("cli", "typer", "click", "rich")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(package: str) -> dict[str, Path]:
    return {module_name(path): path for path in sorted((REPO / package).rglob("*.py"))}


def resolve(module: str, node: ast.ImportFrom, is_package: bool) -> str:
    """The absolute name a ``from ... import`` names, relative imports included."""
    if not node.level:
        return node.module or ""
    base = module.split(".")
    drop = node.level - 1 if is_package else node.level
    base = base[: len(base) - drop] if drop else base
    return ".".join([*base, node.module] if node.module else base)


def imported_names(module: str, path: Path, *, top_level_only: bool) -> set[str]:
    """Every module ``module`` imports (for ``from a import b``: ``a.b`` when that is a module, else ``a``).

    ``top_level_only`` keeps the imports that run when the module is imported: those at module level, outside
    ``if TYPE_CHECKING:`` blocks and function bodies (a cycle only breaks an import that runs at import time).
    """
    tree = ast.parse(path.read_text(), filename=str(path))
    nodes: list[ast.stmt]
    if top_level_only:
        nodes = []
        pending = list(tree.body)
        while pending:
            stmt = pending.pop()
            if isinstance(stmt, ast.If):
                test = stmt.test
                if isinstance(test, ast.Name) and test.id == "TYPE_CHECKING":
                    pending.extend(stmt.orelse)
                    continue
                pending.extend(stmt.body + stmt.orelse)
            elif isinstance(stmt, ast.Try):
                pending.extend(stmt.body + stmt.orelse + stmt.finalbody)
                for handler in stmt.handlers:
                    pending.extend(handler.body)
            else:
                nodes.append(stmt)
    else:
        nodes = [node for node in ast.walk(tree) if isinstance(node, ast.stmt)]
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = resolve(module, node, path.name == "__init__.py")
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def test_the_engine_imports_no_application_layer() -> None:
    offenders = []
    for module, path in modules("capture").items():
        for name in imported_names(module, path, top_level_only=False):
            if name.split(".")[0] in BANNED_IN_ENGINE:
                offenders.append(f"{module} imports {name}")
    assert offenders == []


def test_the_checker_sees_a_banned_import(tmp_path: Path) -> None:
    """The test above can fail: a function-level ``from cli...`` import is found."""
    path = tmp_path / "probe.py"
    path.write_text("def f() -> None:\n    from cli.settings import schema\n")
    assert "cli.settings.schema" in imported_names("capture.probe", path, top_level_only=False)


@pytest.mark.parametrize("package", PACKAGES)
def test_every_package_is_found(package: str) -> None:
    assert len(modules(package)) > 10
