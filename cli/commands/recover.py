"""``caprec recover PATH``: finish what a killed recording left, and say what was recovered.

The summary goes to stdout (``--json``: one ``caprec-recover/1`` object);
errors are one ``error: ...`` line on stderr. Exit codes: 0 recovered (or
nothing to do), 1 nothing playable, 2 a path that is neither an MP4 nor a
studio bundle, 3 no usable ffmpeg.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from caprec.boundary import describe, run_guarded
from caprec.capture.errors import CaptureError
from caprec.capture.ffmpeg.binary import find_ffmpeg
from caprec.capture.studio.recover import recover
from caprec.capture.studio.report import Action, FileReport, RecoveryReport
from caprec.capture.units import format_duration
from caprec.commands.devices import resolve_tool_settings
from caprec.env import Environment
from caprec.exit import ExitStatus, exit_status_for

JSON_INDENT = 2
EXAMPLES = """
Examples:

  caprec recover talk.mp4          # and the talk.part-N.mp4 a killed recording left

  caprec recover talk.caprec       # a studio bundle still marked "recording"

  caprec recover talk.mp4 --json | jq .frames
"""


def _describe(item: FileReport, base: Path) -> str:
    try:
        name = str(item.path.relative_to(base))
    except ValueError:
        name = item.path.name
    label = f"segment {item.index}: " if item.index is not None else ""
    what = f"{item.frames} frames, {item.duration_s:.2f} s" if item.action is not Action.DROPPED else "no frames"
    note = f" ({item.note})" if item.note else ""
    return f"  {label}{name}: {item.action}, {what}{note}"


def report_lines(report: RecoveryReport) -> list[str]:
    """The human summary of a recovery, one line per fact."""
    base = report.path.resolve() if report.kind == "studio" else report.path.absolute().parent
    if report.recovered:
        head = (f"recovered {report.path}: {report.frames} frames, {format_duration(report.duration_s)} "
                f"({report.duration_s:.2f} s)")
        if report.kind == "studio":
            head += ", manifest marked complete"
    else:
        head = (f"nothing to recover: {report.path} is already finished ({report.frames} frames, "
                f"{report.duration_s:.2f} s)")
    lines = [head, *(_describe(item, base) for item in report.files)]
    if report.cursor is not None:
        extra = f" ({'; '.join(report.cursor.warnings)})" if report.cursor.warnings else ""
        lines.append(f"  cursor log {report.cursor.path.name}: {report.cursor.events} events{extra}")
    lines += [f"  note: {note}" for note in report.notes]
    return lines


def recover_command(
    path: Annotated[Path, typer.Argument(help="The MP4 a recording left, or its studio bundle (NAME.caprec/).",
                                         show_default=False)],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object (caprec-recover/1).")] = False,
    ffmpeg_path: Annotated[str | None, typer.Option(
        "--ffmpeg", metavar="PATH", help="The ffmpeg binary to use. Default: as caprec record.")] = None,
) -> None:
    """Turn what a killed recording left into finished files and say what was recovered."""
    env = Environment()

    def body() -> int:
        tools = resolve_tool_settings(env, ffmpeg=ffmpeg_path)
        binary = find_ffmpeg(explicit=tools.ffmpeg, explicit_origin=tools.ffmpeg_origin)
        try:
            report = recover(path, ffmpeg_path=binary.path)
        except CaptureError as exc:
            if as_json:
                env.stdout.write(json.dumps({"schema": "caprec-recover/1", "status": "error",
                                             "path": str(path.absolute()), "error": describe(exc),
                                             "exit_code": int(exit_status_for(exc))}, indent=JSON_INDENT) + "\n")
            raise
        if as_json:
            env.stdout.write(json.dumps(report.to_dict(), indent=JSON_INDENT) + "\n")
        else:
            env.stdout.write("\n".join(report_lines(report)) + "\n")
        return ExitStatus.OK

    run_guarded(env, body)

