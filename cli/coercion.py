"""Typer's value coercion without pydantic for the plain string options caprec uses.

Typer (0.29) coerces every parsed value through a pydantic ``TypeAdapter``
built per parameter on first use. For caprec that meant importing pydantic
(~70-130 ms of CPU) and building ~30 adapters (~20 ms) on every run, before
``caprec record`` could start FFmpeg and before ``--help`` or a TAB
completion could answer, only to turn a ``str`` into the same ``str``.

:func:`install_plain_coercion` gives every parameter a coercion that leaves
an unset value unset (as Typer does) without building anything; for one
annotated ``str``, ``str | None``, ``list[str]`` or ``list[str] | None`` (no
parser, no choices, not a file) it returns what pydantic would for strings
(the same string; a list of the strings), and any other value goes to
Typer's own coercion, built then. tests/cli/test_coercion.py checks both give
the same values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from typer._click import Command, Context
from typer._coercion import RuntimeParam, build_runtime_param
from typer.core import TyperGroup, _TyperParameter

SINGLE = (str, str | None)
SEVERAL = (list[str], list[str] | None)


@dataclass(frozen=True)
class DeferredCoercion(RuntimeParam):
    """Typer's coercion, built only for a value that needs it: strings pass through, None stays None.

    ``several`` is None when the annotation is not a plain string type: every value then goes to Typer's
    coercion (built on first use, as Typer would); a value left unset never builds it.
    """

    several: bool | None

    def _coerce_value(self, value: Any, param: _TyperParameter, ctx: Context) -> Any:
        if self.several is False and isinstance(value, str):
            return value
        if self.several and isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
            return list(value)
        return build_runtime_param(param.type_descriptor)._coerce_value(value, param=param, ctx=ctx)


def deferred_coercion(param: _TyperParameter) -> DeferredCoercion:
    """The coercion for ``param``: pydantic-free for plain strings, Typer's own (deferred) for the rest."""
    descriptor = param.type_descriptor
    info = descriptor.parameter_info
    several: bool | None = None
    if not (descriptor.is_file or descriptor.is_choice or info.parser is not None):
        if descriptor.annotation in SINGLE:
            several = False
        elif descriptor.annotation in SEVERAL:
            several = True
    return DeferredCoercion(parameter_info=info, annotation=descriptor.annotation, several=several)


def install_plain_coercion(command: Command, ctx: Context) -> None:
    """Give every parameter of ``command`` and its subcommands the deferred, pydantic-free coercion.

    ``ctx`` is the root's context: the help options (made on first use) are made with its option names.
    """
    for param in command.get_params(ctx):
        if isinstance(param, _TyperParameter) and param._runtime_param is None:
            param._runtime_param = deferred_coercion(param)
    if isinstance(command, TyperGroup):
        for sub in command.commands.values():
            install_plain_coercion(sub, ctx)
