"""The shape of the code: the engine stays a library, and the import graph has no cycle.

Both checks read the source with :mod:`ast` (nothing is imported), so a new module is covered the day it lands.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from support.paths import REPO_ROOT

PACKAGES = ("capture", "cli")
# Each directory's import name once installed (pyproject.toml's package-dir): one namespace, caprec.
INSTALLED_AS = {"capture": "caprec.capture", "cli": "caprec"}
# The engine knows no command line, no terminal UI and no application settings (flags, CAPREC_* variables, the
# config file, batch plans): those live in cli/ (caprec.settings).
BANNED_IN_ENGINE = ("typer", "click", "rich")


def module_name(path: Path) -> str:
    directory, *parts = path.relative_to(REPO_ROOT).with_suffix("").parts
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([INSTALLED_AS[directory], *parts])


def is_application(name: str) -> bool:
    """``name`` is the command-line layer (``caprec`` outside ``caprec.capture``) or a UI library."""
    if name == "caprec" or (name.startswith("caprec.") and not name.startswith("caprec.capture")):
        return True
    return name.split(".")[0] in BANNED_IN_ENGINE


def modules(package: str) -> dict[str, Path]:
    return {module_name(path): path for path in sorted((REPO_ROOT / package).rglob("*.py"))}


def resolve(module: str, node: ast.ImportFrom, is_package: bool) -> str:
    """The absolute name a ``from ... import`` names, relative imports included."""
    if not node.level:
        return node.module or ""
    base = module.split(".")
    drop = node.level - 1 if is_package else node.level
    base = base[: len(base) - drop] if drop else base
    return ".".join([*base, node.module] if node.module else base)


def imported_names(module: str, path: Path, *, top_level_only: bool, typing_too: bool = False) -> set[str]:
    """Every module ``module`` imports (for ``from a import b``: ``a.b`` when that is a module, else ``a``).

    Imports under ``if TYPE_CHECKING:`` never run and are left out unless ``typing_too``. ``top_level_only``
    also leaves out the imports inside function bodies, keeping those that run when the module is imported.
    """
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    pending: list[ast.AST] = [tree]
    while pending:
        node = pending.pop()
        if (not typing_too and isinstance(node, ast.If) and isinstance(node.test, ast.Name)
                and node.test.id == "TYPE_CHECKING"):
            pending.extend(node.orelse)
            continue
        if top_level_only and isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = resolve(module, node, path.name == "__init__.py")
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
        pending.extend(ast.iter_child_nodes(node))
    return found


def test_the_engine_imports_no_application_layer() -> None:
    offenders = []
    for module, path in modules("capture").items():
        for name in imported_names(module, path, top_level_only=False, typing_too=True):
            if is_application(name):
                offenders.append(f"{module} imports {name}")
    assert offenders == []


def test_the_checker_sees_a_banned_import(tmp_path: Path) -> None:
    """The test above can fail: a function-level ``from cli...`` import is found."""
    path = tmp_path / "probe.py"
    path.write_text("def f() -> None:\n    from caprec.settings import schema\n"
                    "if TYPE_CHECKING:\n    import rich\n")
    assert "caprec.settings.schema" in imported_names("caprec.capture.probe", path, top_level_only=False)
    assert "caprec.settings.schema" not in imported_names("caprec.capture.probe", path, top_level_only=True)
    assert "rich" not in imported_names("caprec.capture.probe", path, top_level_only=False)


@pytest.mark.parametrize("package", PACKAGES)
def test_every_package_is_found(package: str) -> None:
    assert len(modules(package)) > 10


def import_graph(*, top_level_only: bool) -> dict[str, set[str]]:
    """Module -> the modules of capture/ and cli/ it imports."""
    known = {**modules("capture"), **modules("cli")}
    return {module: {name for name in imported_names(module, path, top_level_only=top_level_only)
                     if name in known and name != module}
            for module, path in known.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One cycle of ``graph`` as a path ``[a, b, ..., a]``, or ``[]`` when it has none (depth-first search)."""
    done: set[str] = set()
    for root in sorted(graph):
        if root in done:
            continue
        path: list[str] = [root]
        on_path = {root}
        stack = [iter(sorted(graph[root]))]
        while stack:
            child = next(stack[-1], None)
            if child is None:
                stack.pop()
                done.add(path[-1])
                on_path.discard(path.pop())
            elif child in on_path:
                return [*path[path.index(child):], child]
            elif child not in done:
                path.append(child)
                on_path.add(child)
                stack.append(iter(sorted(graph.get(child, ()))))
    return []


# Lazy imports (inside a function) that close a cycle; each is an edge ``(importer, imported)`` to remove.
KNOWN_LAZY_CYCLE_EDGES: set[tuple[str, str]] = set()


def test_the_import_graph_has_no_cycle() -> None:
    """What runs at import time (module level, not TYPE_CHECKING) forms no cycle in capture/ and cli/."""
    assert find_cycle(import_graph(top_level_only=True)) == []


def test_lazy_imports_close_no_other_cycle() -> None:
    """With the imports inside functions too, the only cycles are the known ones (and those still exist)."""
    graph = import_graph(top_level_only=False)
    for importer, imported in KNOWN_LAZY_CYCLE_EDGES:
        assert imported in graph[importer], f"{importer} no longer imports {imported}: drop it from the list"
        graph[importer].discard(imported)
    assert find_cycle(graph) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) == []


def test_cli_app_is_imported_by_no_command() -> None:
    """Commands register on the app in caprec.app; none imports it back (the old app <-> record circle)."""
    graph = import_graph(top_level_only=False)
    commands = {module: names for module, names in graph.items() if module.startswith("caprec.commands")}
    assert len(commands) > 10
    assert sorted(module for module, names in commands.items() if "caprec.app" in names) == []


# The engine's messages name spec fields in backticks (``pass `overwrite```, a boolean one turned off as
# ```cursor` off``); caprec.boundary.describe turns them into flags. No engine string names a flag.
FLAG_IN_TEXT = re.compile(r"(?<![\w-])--[a-z]")
NOT_A_CAPREC_FLAG = ("pulseaudio --start",)


def message_strings(path: Path) -> list[str]:
    """The string constants of a module (f-string pieces included), its docstrings left out."""
    tree = ast.parse(path.read_text(), filename=str(path))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
                  and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    return [node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]


def flag_wording(path: Path) -> list[str]:
    texts = message_strings(path)
    for allowed in NOT_A_CAPREC_FLAG:
        texts = [text.replace(allowed, "") for text in texts]
    return [text for text in texts if FLAG_IN_TEXT.search(text)]


def test_engine_messages_name_fields_not_flags() -> None:
    found = {module: texts for module, path in modules("capture").items() if (texts := flag_wording(path))}
    assert found == {}


def test_the_engine_reads_no_caprec_variable() -> None:
    """CAPREC_* variables are settings: the application resolves them (caprec.settings) and hands values in."""
    found = {module: texts for module, path in modules("capture").items()
             if (texts := [text for text in message_strings(path) if "CAPREC_" in text])}
    assert found == {}


def test_the_flag_checker_sees_a_flag(tmp_path: Path) -> None:
    path = tmp_path / "probe.py"
    path.write_text('"""Docstrings may say --fps."""\nX = f"pass --overwrite or {1}"\nY = "pulseaudio --start"\n'
                    'Z = "pass `overwrite`; -c:v"\n')
    assert flag_wording(path) == ["pass --overwrite or "]


def test_every_field_an_engine_message_names_is_a_flag() -> None:
    """caprec.boundary.describe names each marked field by a flag that exists (on record, render or doctor)."""
    from caprec.app import app
    from caprec.boundary import FIELD_OFF_PATTERN, flag_for, off_flag_for
    from caprec.capture.errors import FIELD_PATTERN
    from typer.core import TyperGroup
    from typer.main import get_command

    group = get_command(app)
    assert isinstance(group, TyperGroup)
    flags = {opt for name in ("record", "render", "doctor") for param in group.commands[name].params
             for opt in param.opts}
    texts = [text for path in modules("capture").values() for text in message_strings(path)]
    fields = {name for text in texts for name in FIELD_PATTERN.findall(text)}
    assert {"output", "overwrite", "codec", "display", "ffmpeg"} <= fields
    assert sorted(field for field in fields if flag_for(field) not in flags) == []
    # A boolean field turned off (`cursor` off) is named by its --no- flag, which must exist too.
    off_flags = {opt for name in ("record", "render", "doctor") for param in group.commands[name].params
                 for opt in param.secondary_opts}
    turned_off = {name for text in texts for name in FIELD_OFF_PATTERN.findall(text)}
    assert "cursor" in turned_off
    assert sorted(field for field in turned_off if off_flag_for(field) not in off_flags) == []


def test_no_module_imports_another_modules_private_names() -> None:
    """``_name`` is private to its module: a name another module needs is public (or lives where it is used)."""
    offenders = []
    for package in PACKAGES:
        for module, path in modules(package).items():
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").split(".")[0] == "caprec"):
                    offenders += [f"{module} imports {node.module}.{alias.name}" for alias in node.names
                                  if alias.name.startswith("_") and not alias.name.startswith("__")]
    assert offenders == []
