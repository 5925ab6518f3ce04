"""The Typer app: ``caprec record``, ``caprec cursor`` and friends.

The command modules (:mod:`cli.commands`) expose plain functions and never
import this module; it imports them and registers each one here, so the
import graph has no cycle. Engine errors become ``error: ...`` and an exit
code at the boundary (:func:`cli.boundary.run_guarded`).
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

# Typer (0.29+) carries its own copy of click; its usage errors live here.
from typer._click import Context
from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError

from capture import __version__
from cli.coercion import install_plain_coercion
from cli.commands import batch, config, cursor, devices, doctor, record, recover, render, save
from cli.exit import ExitStatus
from cli.streams import guard_standard_streams
from cli.ui.helpstyle import HelpGroup


class CaprecGroup(HelpGroup):
    """The root group: its commands coerce plain string options without pydantic (see :mod:`cli.coercion`)."""

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        install_plain_coercion(self, ctx)
        return super().parse_args(ctx, args)


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
    cls=CaprecGroup,
    add_completion=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


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
    # The order is the order of ``caprec --help``'s listing as it was when each module registered itself.
    app.command("devices", epilog=devices.EXAMPLES)(devices.devices_command)
    app.command("render", epilog=render.EXAMPLES)(render.render_command)
    app.command(epilog=record.EXAMPLES)(record.record)
    app.command(epilog=batch.EXAMPLES)(batch.batch)
    app.command("doctor", epilog=doctor.EXAMPLES)(doctor.doctor_command)
    app.command("recover", epilog=recover.EXAMPLES)(recover.recover_command)
    app.command()(save.save)
    app.add_typer(config.config_app, name="config")
    app.add_typer(cursor.cursor_app, name="cursor")


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
