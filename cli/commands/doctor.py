"""``caprec doctor``: check that this machine can record, with a fix for each problem.

Prints a pass/warn/fail table (or ``--json``, schema ``caprec-doctor/1``) on
stdout and exits 1 when any check fails; warnings alone exit 0.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from caprec.boundary import describe, run_guarded
from caprec.capture.errors import CaptureError
from caprec.capture.ffmpeg.binary import find_ffmpeg
from caprec.capture.platform.doctor import Check, CheckStatus, run_checks, worst
from caprec.capture.platform.pulse import Pactl
from caprec.commands.devices import output_console, resolve_tool_settings
from caprec.env import Environment
from caprec.exit import ExitStatus
from caprec.settings import schema as opt
from rich.table import Table
from rich.text import Text

DOCTOR_SCHEMA = "caprec-doctor/1"
JSON_INDENT = 2
STATUS_STYLES = {CheckStatus.PASS: "green", CheckStatus.WARN: "yellow", CheckStatus.FAIL: "bold red"}


def status_counts(checks: list[Check]) -> dict[str, int]:
    """How many checks passed, warned and failed: ``{"pass": 7, "warn": 1, "fail": 0}``."""
    return {str(status): sum(check.status is status for check in checks) for status in CheckStatus}


def doctor_document(checks: list[Check]) -> dict[str, object]:
    """The ``caprec-doctor/1`` JSON object: the verdict, counts and every check in order."""
    return {"schema": DOCTOR_SCHEMA, "status": str(worst(checks)), "counts": status_counts(checks),
            "checks": [check.to_json() for check in checks]}


def doctor_table(checks: list[Check]) -> Table:
    table = Table("check", "status", "detail")
    for check in checks:
        table.add_row(Text(check.name), Text(str(check.status), style=STATUS_STYLES[check.status]),
                      Text(check.detail))
    return table


def _summary(checks: list[Check]) -> str:
    counts = status_counts(checks)
    return (f"{counts['pass']} passed, {counts['warn']} warning{'s' if counts['warn'] != 1 else ''}, "
            f"{counts['fail']} failed")


EXAMPLES = """
Examples:

  caprec doctor

  caprec doctor --output-dir ~/Videos --json | jq '.checks[] | select(.status != "pass")'
"""


def doctor_command(
    output_dir: Annotated[str | None, typer.Option(
        metavar="DIR", help="Where recordings go: checked for free space and write access. Default: as caprec "
                            "record (CAPREC_OUTPUT_DIR, config output_dir), else the current directory.")] = None,
    ffmpeg_path: Annotated[str | None, typer.Option(
        "--ffmpeg", metavar="PATH", help="The ffmpeg binary to check. Default: the one caprec record uses.")] = None,
    display: Annotated[str | None, typer.Option(
        metavar="NAME", help="X display to check. Default: as caprec record (CAPREC_DISPLAY, config, $DISPLAY).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help=f"Print JSON ({DOCTOR_SCHEMA}) instead of a table.")
    ] = False,
) -> None:
    """Check ffmpeg, encoders, capture inputs, the display, pynput, disk space and the output directory."""
    env = Environment()

    def body() -> int:
        checks: list[Check] = []
        try:
            settings = resolve_tool_settings(env, ffmpeg=ffmpeg_path, display=display, output_dir=output_dir,
                                             check_all=True)
        except CaptureError as exc:
            # caprec record would stop here too; check the rest with the flags alone.
            checks.append(Check("config", CheckStatus.FAIL, describe(exc)))
            chosen_ffmpeg, ffmpeg_origin, chosen_display = ffmpeg_path, "--ffmpeg", display
            variable = opt.FFMPEG.env[0]  # CAPREC_FFMPEG still names the binary to check
            if chosen_ffmpeg is None and env.environ.get(variable):
                chosen_ffmpeg, ffmpeg_origin = env.environ[variable], variable
            directory = Path(output_dir).expanduser() if output_dir else None
        else:
            where = settings.config.path
            checks.append(Check("config", CheckStatus.PASS,
                                f"{where}" if settings.config.exists else f"none at {where} (built-in defaults)"))
            chosen_ffmpeg, ffmpeg_origin = settings.ffmpeg, settings.ffmpeg_origin
            chosen_display, directory = settings.display, settings.output_dir
        found = run_checks(output_dir=directory if directory is not None else Path(os.getcwd()),
                           ffmpeg_path=chosen_ffmpeg, ffmpeg_origin=ffmpeg_origin, display=chosen_display,
                           platform=sys.platform, environ=env.environ, find=find_ffmpeg, sound=Pactl())
        # A check's detail may quote an engine error, which names fields: name their flags instead.
        checks += [dataclasses.replace(check, detail=describe(check.detail)) for check in found]
        if as_json:
            env.stdout.write(json.dumps(doctor_document(checks), indent=JSON_INDENT, ensure_ascii=False) + "\n")
        else:
            console = output_console(env)
            console.print(doctor_table(checks))
            console.print(_summary(checks), markup=False, soft_wrap=True)
        return ExitStatus.ERROR if worst(checks) is CheckStatus.FAIL else ExitStatus.OK

    run_guarded(env, body)
