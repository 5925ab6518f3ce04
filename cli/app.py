"""The Typer app: ``caprec record``, ``caprec cursor`` and friends.

Engine errors become ``error: ...`` and an exit code here, once, at the
boundary (see :func:`run_guarded`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Annotated

import typer
from rich.console import Console

# Typer (0.29+) carries its own copy of click; its usage errors live here.
from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError

from capture import __version__
from capture.errors import CaptureError
from cli.env import Environment
from cli.exit import ExitStatus, exit_status_for
from cli.helpstyle import HelpGroup
from cli.streams import guard_standard_streams

# Typer shows ``help`` instead of the root callback's docstring, so the
# examples go in the epilog of ``caprec --help``.
EXAMPLES = """
Examples:

  caprec record --source test --duration 5 -o demo.mp4

  caprec record --duration 1m30s --region 1280x720+0+0

  caprec record -o - --source test --duration 3 | ffprobe -
"""

app = typer.Typer(
    name="caprec",
    help="Record the screen from a shell: FFmpeg capture, crash-proof MP4, live stats, a cursor log.",
    epilog=EXAMPLES,
    no_args_is_help=True,
    cls=HelpGroup,
    add_completion=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def error_console(env: Environment) -> Console:
    return Console(file=env.stderr, no_color=env.no_color, highlight=False,
                   force_terminal=None if env.stderr_isatty else False)


def run_guarded(env: Environment, body: Callable[[], int]) -> None:
    """Run a command body; turn a :class:`CaptureError` into one line and an exit code."""
    try:
        code = body()
    except CaptureError as exc:
        # soft_wrap: one line whatever the width, for scripts that grep "error:".
        error_console(env).print(f"error: {exc}", markup=False, soft_wrap=True)
        raise typer.Exit(int(exit_status_for(exc))) from None
    raise typer.Exit(code)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"caprec {__version__}")
        raise typer.Exit(int(ExitStatus.OK))


@app.callback()
def root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print caprec's version and exit.")] = False,
) -> None:
    """caprec records the screen with FFmpeg (see :data:`EXAMPLES`)."""


def _register() -> None:
    # Commands live in their own modules; importing them registers them.
    import cli.render_cmd  # noqa: F401
    from cli import batch, config_cmd, cursor_cmd, devices_cmd, doctor_cmd, record, recover_cmd, save_cmd  # noqa: F401


def main() -> None:
    """Console-script entry point.

    Usage errors (an unknown flag, a missing argument) become one
    ``error: ...`` line and exit 2, like every other bad input.
    """
    guard_standard_streams()
    try:
        code = app(standalone_mode=False, prog_name="caprec")
    except NoArgsIsHelpError as exc:
        if exc.ctx is not None:
            typer.echo(exc.ctx.get_help())
        sys.exit(int(ExitStatus.USAGE))
    except UsageError as exc:
        where = f"{exc.ctx.command_path} --help" if exc.ctx is not None else "caprec --help"
        typer.echo(f"error: {exc.format_message().rstrip('.')}; see {where}", err=True)
        sys.exit(int(ExitStatus.USAGE))
    except ClickException as exc:
        typer.echo(f"error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.exit(int(ExitStatus.INTERRUPTED))
    sys.exit(code if isinstance(code, int) else int(ExitStatus.OK))


_register()
