"""``caprec cursor``: read cursor logs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from caprec.boundary import error_console, run_guarded
from caprec.capture.cursor.reader import summarize_cursor_log
from caprec.capture.cursor.target import resolve_cursor_target
from caprec.capture.units import format_duration
from caprec.env import Environment
from caprec.exit import ExitStatus
from rich.console import Console
from rich.table import Table

SUMMARY_EXAMPLES = """
Examples:

  caprec cursor summary talk.cursor.ndjson

  caprec cursor summary talk.cursor.ndjson --json | jq .clicks
"""
cursor_app = typer.Typer(help="Read cursor logs (*.cursor.ndjson).", no_args_is_help=True, epilog=SUMMARY_EXAMPLES)



@cursor_app.command("summary", epilog=SUMMARY_EXAMPLES)
def summary(
    path: Annotated[Path, typer.Argument(help="A cursor log written by caprec record, or a studio bundle "
                                                "(*.caprec).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object for scripts.")] = False,
) -> None:
    """Counts by type, the recording's duration, clicks (press + release) per button and distance travelled.

    A torn last line (the recorder was killed mid-write) is skipped with a warning.
    """
    env = Environment()

    def body() -> int:
        target = resolve_cursor_target(path)
        recording_ms = None if target.recording_s is None else target.recording_s * 1000
        result = summarize_cursor_log(target.log, recording_ms=recording_ms)
        if as_json:
            env.stdout.write(json.dumps(result.to_dict(), sort_keys=True) + "\n")
            return ExitStatus.OK
        console = error_console(env)
        for warning in result.warnings:
            console.print(f"warning: {warning}", markup=False)
        table = Table(title=str(path), show_header=False, box=None)
        table.add_row("events", str(result.events))
        table.add_row("moves", str(result.moves))
        table.add_row("clicks", str(result.clicks))
        table.add_row("scrolls", str(result.scrolls))
        for button, count in sorted(result.presses_by_button.items()):
            table.add_row(f"  {button} presses", str(count))
        if result.recording_duration_known:
            table.add_row("duration", format_duration(result.duration_ms / 1000))
        else:  # no video or bundle to tell the recording's length
            table.add_row("last event at", format_duration(result.last_event_ms / 1000))
        table.add_row("distance", f"{result.distance_px:.0f} px")
        Console(file=env.stdout, no_color=env.no_color).print(table)
        return ExitStatus.OK

    run_guarded(env, body)
