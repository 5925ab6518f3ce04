"""The Typer app: ``caprec record``, ``caprec cursor`` and friends.

The command modules (:mod:`caprec.commands`) expose plain functions and never
import this module; it imports them and registers each one here, so the
import graph has no cycle. A command line imports and registers only the
command it runs (:func:`build_app`): the other commands' modules and Typer's
work on their signatures cost ~0.05-0.1 s of CPU before FFmpeg could start.
Engine errors become ``error: ...`` and an exit code at the boundary
(:func:`caprec.boundary.run_guarded`).
"""

from __future__ import annotations

import gc
import os
import sys
import typing
from collections.abc import Callable, Mapping
from typing import Annotated

import typer
from caprec.capture import __version__
from caprec.exit import ExitStatus
from caprec.streams import guard_standard_streams
from caprec.ui.helpstyle import HelpGroup

# Typer (0.29+) carries its own copy of click; its usage errors live here.
from typer._click import Context
from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError


class CaprecGroup(HelpGroup):
    """The root group: its commands coerce plain string options without pydantic (see :mod:`caprec.coercion`)."""

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        # caprec.coercion reaches into Typer's private coercion (pyproject pins Typer's minor version, and
        # tests/cli/test_coercion.py compares every parameter with Typer's own result); should those internals
        # move anyway, Typer's own (slower) coercion runs instead of caprec failing to start.
        try:
            from caprec.coercion import install_plain_coercion

            install_plain_coercion(self, ctx)
        except (ImportError, AttributeError):
            pass
        return super().parse_args(ctx, args)


# Typer's variable that asks for completions (its name comes from the program name).
COMPLETE_VAR = "_CAPREC_COMPLETE"

# Typer shows ``help`` instead of the root callback's docstring, so the
# examples go in the epilog of ``caprec --help``.
EXAMPLES = """
Examples:

  caprec record --source test --duration 5 -o demo.mp4

  caprec record --duration 1m30s --region 1280x720+0+0

  caprec record -o - --source test --duration 3 | ffprobe -
"""


def _version(value: bool) -> None:
    if value:
        typer.echo(f"caprec {__version__}")
        raise typer.Exit(int(ExitStatus.OK))


def root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print caprec's version and exit.")] = False,
) -> None:
    """caprec records the screen with FFmpeg (see :data:`EXAMPLES`)."""


# Each command's summary: the first paragraph of its help, which ``caprec --help`` and a TAB on the command
# word show. Those two need nothing else, so they import no command (tests/cli/test_startup.py compares these
# with the commands' own help). In the order of ``caprec --help``'s listing.
COMMAND_SUMMARIES = {
    "devices": "List the screens and audio inputs caprec can capture here, with the id to pass to caprec.",
    "render": "Render a studio bundle: smoothed cursor, click effects, auto-zoom; MP4, WebM or GIF.",
    "record": "Record the screen (or a test pattern) to a crash-proof MP4.",
    "batch": "Record several captures in order from a TOML plan, checked as a whole first.",
    "doctor": "Check ffmpeg, encoders, capture inputs, the display, pynput, disk space and the output directory.",
    "recover": "Turn what a killed recording left into finished files and say what was recovered.",
    "save": "Save the last seconds of the running replay buffer (caprec record --replay); print the clip's path.",
    "config": "Show and edit the config file that holds defaults for caprec record.",
    "cursor": "Read cursor logs (*.cursor.ndjson).",
}
COMMAND_NAMES = tuple(COMMAND_SUMMARIES)
# ``caprec``, ``caprec --help``: the root's help page, which lists the commands by their summaries.
ROOT_HELP_ARGS: tuple[list[str], ...] = ([], ["--help"], ["-h"])


def _evaluated(command: Callable[..., object]) -> Callable[..., object]:
    """``command`` with its annotations evaluated once.

    The command modules use postponed annotations (strings), and Typer evaluates each one every time it reads
    the signature: five times per run, ~10 ms of CPU for ``record``'s forty options before FFmpeg could start.
    Typer copies the ``typer.Option`` objects it finds, so sharing one evaluation is safe.
    """
    command.__annotations__ = typing.get_type_hints(command, include_extras=True)
    return command


def _register(app: typer.Typer, name: str) -> None:
    """Import command ``name``'s module and register it: each import costs only the command that runs."""
    if name == "devices":
        from caprec.commands import devices
        app.command("devices", epilog=devices.EXAMPLES)(_evaluated(devices.devices_command))
    elif name == "render":
        from caprec.commands import render
        app.command("render", epilog=render.EXAMPLES)(_evaluated(render.render_command))
    elif name == "record":
        from caprec.commands import record
        app.command(epilog=record.EXAMPLES)(_evaluated(record.record))
    elif name == "batch":
        from caprec.commands import batch
        app.command(epilog=batch.EXAMPLES)(_evaluated(batch.batch))
    elif name == "doctor":
        from caprec.commands import doctor
        app.command("doctor", epilog=doctor.EXAMPLES)(_evaluated(doctor.doctor_command))
    elif name == "recover":
        from caprec.commands import recover
        app.command("recover", epilog=recover.EXAMPLES)(_evaluated(recover.recover_command))
    elif name == "save":
        from caprec.commands import save
        app.command()(_evaluated(save.save))
    elif name == "config":
        from caprec.commands import config
        app.add_typer(config.config_app, name="config")
    elif name == "cursor":
        from caprec.commands import cursor
        app.add_typer(cursor.cursor_app, name="cursor")


def _summary_only() -> None:
    """Stands for a command in an app that only lists the commands (see :data:`COMMAND_SUMMARIES`)."""


def build_app(only: str | None = None, *, summaries: bool = False) -> typer.Typer:
    """The app with every command, or with command ``only`` alone (the one a command line runs).

    With ``summaries``, each command is a stand-in with its summary: enough to list them.
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
    app.callback()(root)
    for name in COMMAND_NAMES:
        if summaries:
            app.command(name, help=COMMAND_SUMMARIES[name])(_summary_only)
        elif only is None or name == only:
            _register(app, name)
    return app


def app_for(argv: list[str], environ: Mapping[str, str]) -> typer.Typer:
    """The app a command line needs: the command it runs, the summaries it lists, or (else) everything."""
    command = invoked_command(argv, environ)
    if command is not None:
        return build_app(only=command)
    # Completing the command word (or a root option), or the root's help page: the summaries are enough.
    lists = completion_words(environ)[1] <= 1 if COMPLETE_VAR in environ else argv[1:] in ROOT_HELP_ARGS
    return build_app(summaries=lists)


def invoked_command(argv: list[str], environ: Mapping[str, str]) -> str | None:
    """The command a command line runs (or a TAB completes the arguments of), or None when all are needed.

    None for ``caprec --help``, a mistyped command, and a completion of the command word itself: they list
    every command. A completion request names its words in variables (see completions/), not in argv.
    """
    if COMPLETE_VAR in environ:
        words, current = completion_words(environ)
        command = words[1] if current > 1 and len(words) > 1 else None
    else:
        command = argv[1] if len(argv) > 1 else None
    return command if command in COMMAND_NAMES else None


def completion_words(environ: Mapping[str, str]) -> tuple[list[str], int]:
    """The words of a completion request and the index of the one being completed (Typer's variables per shell)."""
    if "COMP_WORDS" in environ:  # bash
        words = environ["COMP_WORDS"].split()
        try:
            return words, int(environ.get("COMP_CWORD", ""))
        except ValueError:
            return words, 0
    line = environ.get("_TYPER_COMPLETE_ARGS", "")  # zsh, fish, powershell: the line up to the cursor
    words = line.split()
    return words, len(words) if line.endswith(" ") else len(words) - 1


def main() -> None:
    """Console-script entry point.

    Usage errors (an unknown flag, a missing argument) become one
    ``error: ...`` line and exit 2, like every other bad input.
    """
    guard_standard_streams()
    app = app_for(sys.argv, os.environ)
    # The start-up's objects (modules, the command) stay for good: frozen, the collector skips them while a
    # long recording runs; it was off while they were made (caprec.entry).
    gc.freeze()
    gc.enable()
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


def __getattr__(name: str) -> typer.Typer:
    """``caprec.app.app``: the app with every command (built on first use: :func:`main` builds only what it runs)."""
    if name == "app":
        app = build_app()
        globals()["app"] = app
        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
