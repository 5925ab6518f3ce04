"""caprec.coercion: the pydantic-free coercion gives Typer's values, and caprec runs without importing pydantic."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import typer.main
from caprec.app import app
from caprec.coercion import DeferredCoercion, install_plain_coercion
from typer._click import Command, Context
from typer._click.exceptions import BadParameter
from typer._coercion import build_runtime_param
from typer.core import TyperGroup, _TyperParameter

RUN_TIMEOUT_S = 60.0
# Values a command line or a default hands to a parameter: strings, several strings, nothing, non-strings.
SAMPLES: list[Any] = [None, "x", "", " 3 ", "-", "1.5", "7", ("a", "b"), (), ["c"], 4, 2.5, True, False]


def _params(command: Command, ctx: Context, path: str) -> Iterator[tuple[str, _TyperParameter]]:
    for param in command.get_params(ctx):
        if isinstance(param, _TyperParameter):
            yield f"{path} {param.name}", param
    if isinstance(command, TyperGroup):
        for name, sub in command.commands.items():
            yield from _params(sub, ctx, f"{path} {name}")


def every_param() -> list[tuple[str, _TyperParameter, Context]]:
    root = typer.main.get_command(app)
    ctx = Context(root, info_name="caprec", help_option_names=["-h", "--help"])
    install_plain_coercion(root, ctx)
    return [(name, param, ctx) for name, param in _params(root, ctx, "caprec")]


PARAMS = every_param()


def _outcome(coerce: Any, value: Any) -> tuple[str, Any]:
    try:
        return "value", coerce(value)
    except BadParameter as exc:
        return "error", exc.format_message()


@pytest.mark.parametrize(("name", "param", "ctx"), PARAMS, ids=[name for name, _, _ in PARAMS])
def test_every_parameter_coerces_like_typer(name: str, param: _TyperParameter, ctx: Context) -> None:
    ours = param.get_runtime_param()
    assert isinstance(ours, DeferredCoercion), name
    typers = build_runtime_param(param.type_descriptor)
    for value in SAMPLES:
        mine = _outcome(lambda v: ours.coerce(v, param=param, ctx=ctx), value)
        theirs = _outcome(lambda v: typers.coerce(v, param=param, ctx=ctx), value)
        assert mine == theirs, f"{name} {value!r}"
        assert type(mine[1]) is type(theirs[1]), f"{name} {value!r}"


def test_plain_strings_are_recognised() -> None:
    """The fast path is taken where caprec needs it: record's string options (else the test above proves little)."""
    several = {name: param.get_runtime_param().several  # type: ignore[attr-defined]
               for name, param, _ in PARAMS}
    assert several["caprec record output"] is False
    assert several["caprec record audio"] is True
    assert several["caprec record overwrite"] is None


@pytest.mark.parametrize("args", [
    ["--help"],
    ["record", "--help"],
    ["record", "--source", "test", "-d", "2", "--audio", "none", "--dry-run", "-o", "x.mp4"],
])
def test_caprec_runs_without_pydantic(args: list[str], tmp_path: Any) -> None:
    """Importing pydantic cost ~0.1 s of CPU before FFmpeg started, help printed or a TAB completed."""
    code = ("import sys\nsys.argv = ['caprec', *sys.argv[1:]]\nfrom caprec.app import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "sys.stderr.write('PYDANTIC' if 'pydantic' in sys.modules else 'NONE')\n")
    result = subprocess.run([sys.executable, "-c", code, *args], cwd=tmp_path, capture_output=True, text=True,
                            timeout=RUN_TIMEOUT_S, check=False, env={"NO_COLOR": "1",
                                                                      "PATH": "/usr/bin:/bin",
                                                                      "XDG_CONFIG_HOME": str(tmp_path / "c"),
                                                                      "XDG_CACHE_HOME": str(tmp_path / "k")})
    assert result.stdout, result.stderr
    assert result.stderr.endswith("NONE"), result.stderr
