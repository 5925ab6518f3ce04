"""The error boundary: engine errors become ``error: ...`` and an exit code here, once.

Every command body runs through :func:`run_guarded`. It lives apart from :mod:`caprec.app` so that the command
modules can use it without importing the app that registers them (no import cycle).

The engine's messages name spec fields (``pass `overwrite```); :func:`describe` is the one place that turns
them into flags (``pass --overwrite``; a boolean field turned off, ```cursor` off``, into ``--no-cursor``).
Anything that shows an engine error to a user goes through it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import typer
from caprec.capture.errors import FIELD_PATTERN, CaptureError
from caprec.env import Environment
from caprec.exit import exit_status_for

if TYPE_CHECKING:
    from rich.console import Console

FIELD_FLAGS = {"output": "-o"}
"""Fields whose flag is not ``--`` plus the field's name with dashes (``output_dir`` -> ``--output-dir``)."""


FIELD_OFF_PATTERN = re.compile(FIELD_PATTERN.pattern + " off")
"""A boolean field turned off (```cursor` off``): the CLI names its ``--no-`` flag."""


def flag_for(field: str) -> str:
    """The flag that sets an engine field."""
    return FIELD_FLAGS.get(field, "--" + field.replace("_", "-"))


def off_flag_for(field: str) -> str:
    """The flag that turns a boolean engine field off (``cursor`` -> ``--no-cursor``)."""
    return "--no-" + flag_for(field).removeprefix("--")


def describe(error: BaseException | str) -> str:
    """An engine error (or a message from one) in the CLI's words: its fields named by their flags."""
    text = FIELD_OFF_PATTERN.sub(lambda match: off_flag_for(match.group(1)), str(error))
    return FIELD_PATTERN.sub(lambda match: flag_for(match.group(1)), text)


def error_console(env: Environment) -> Console:
    """A console on the environment's stderr, coloured only where the user wants it."""
    # rich is imported here, when something is printed: a recording starts FFmpeg before it needs it.
    from rich.console import Console

    return Console(file=env.stderr, no_color=env.no_color, highlight=False,
                   force_terminal=None if env.stderr_isatty else False)


def run_guarded(env: Environment, body: Callable[[], int]) -> None:
    """Run a command body; turn a :class:`CaptureError` into one line and an exit code."""
    try:
        code = body()
    except CaptureError as exc:
        # soft_wrap: one line whatever the width, for scripts that grep "error:".
        error_console(env).print(f"error: {describe(exc)}", markup=False, soft_wrap=True)
        raise typer.Exit(int(exit_status_for(exc))) from None
    raise typer.Exit(code)
