"""``caprec batch PLAN.toml``: several captures, one after another, from a plan.

The plan is read and checked by :mod:`caprec.settings.batch_plan`, then every capture is
resolved into a recording with :func:`caprec.commands.plan.resolve_plan` (the same
checks as ``caprec record``), all before anything is recorded. Each capture
then runs through :func:`caprec.commands.run.run_plan` under one progress display.
"""

from __future__ import annotations

import dataclasses
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from caprec.boundary import describe, error_console, run_guarded
from caprec.capture.errors import CaptureError, OutputError, SettingError
from caprec.capture.record.segment import Recorder, StopControl
from caprec.capture.record.spec import Mode
from caprec.capture.units import format_bytes, format_duration
from caprec.commands.batch_render import render_after_capture, render_note
from caprec.commands.plan import RecordPlan, resolve_plan, retarget
from caprec.commands.run import exit_code, run_plan, stop_on_signals
from caprec.env import Environment
from caprec.exit import ExitStatus, exit_status_for
from caprec.settings.batch_plan import BatchPlan, CaptureSpec, PlanError, load_plan, resolve_directory
from caprec.settings.probes import Probes
from caprec.ui.display import PanelOptions, make_batch_display
from caprec.ui.reports import (
    STATUS_CANCELLED,
    STATUS_SKIPPED,
    JsonObject,
    Reports,
    empty_summary,
    error_summary,
    result_summary,
    summary_exit_code,
)
from rich.console import Console
from rich.table import Table
from rich.text import Text

EXAMPLES = """
Examples:

  caprec batch demo.toml

  caprec batch demo.toml --dry-run

  caprec batch demo.toml --continue-on-error --json > results.json
"""
FLAG_PREFIX = "--"
RESULT_COLUMNS = ("#", "output", "status", "duration", "frames", "dropped", "size", "exit")
NARROW_RESULT_COLUMNS = ("#", "output", "status", "frames", "exit")
WIDE_TABLE_MIN_WIDTH = 72


@dataclass(frozen=True)
class Problem:
    """One line of error output, and the capture it is about (0: the plan as a whole), for ordering."""

    index: int
    line: str


@dataclass(frozen=True)
class Resolved:
    """One capture of the plan and the recording it resolved to."""

    spec: CaptureSpec
    plan: RecordPlan


def resolve_captures(env: Environment, plan: BatchPlan, *, ffmpeg_path: str | None,
                     quiet: bool) -> tuple[list[Resolved], list[Problem], ExitStatus]:
    """Every capture as a recording plan; else the problems and the exit code.

    Nothing is created here: resolve_plan only checks paths and finds ffmpeg.
    """
    resolved: list[Resolved] = []
    problems: list[Problem] = []
    probes = Probes.for_environ(env.environ)  # ffmpeg and each display probed once for the whole plan
    # Captures that differ only in their output are resolved once (10,000 in well under 2 s).
    templates: dict[tuple[Any, ...], RecordPlan] = {}
    for spec in plan.captures:
        shape = _shape(spec)
        try:
            template = templates.get(shape)
            if template is not None:
                resolved.append(Resolved(spec=spec, plan=retarget(template, spec.output)))
                continue
            record_plan = resolve_plan(
                env=env, source=spec.source, output=str(spec.output), fps=spec.fps, region=spec.region,
                duration=spec.duration, codec=spec.codec, preset=spec.preset, crf=spec.crf, cursor=spec.cursor,
                ffmpeg_path=ffmpeg_path, delay=spec.delay, quiet=quiet, mode=spec.mode,
                # The plan decides: a CAPREC_AUDIO or config default does not add audio to a capture.
                audio=spec.audio or "none", probes=probes)
        except CaptureError as exc:
            code = exit_status_for(exc)
            if code is not ExitStatus.USAGE:
                # Not the capture's fault (no ffmpeg, no display): once is enough.
                return [], [Problem(spec.index, f"{plan.path}: {spec.label}: {describe(exc)}")], code
            problems.append(Problem(spec.index, f"{plan.path}: {spec.label}: {_as_plan_key(exc)}"))
            continue
        resolved.append(Resolved(spec=spec, plan=record_plan))
        if record_plan.mode is Mode.INSTANT and record_plan.target.path is not None:
            templates[shape] = record_plan
    problems += _shared_files(plan, resolved)
    return resolved, problems, ExitStatus.USAGE if problems else ExitStatus.OK


_PER_CAPTURE = frozenset({"index", "n", "repeat", "name", "output"})


def _shape(spec: CaptureSpec) -> tuple[Any, ...]:
    """Everything of a capture but its output (and its place in the plan)."""
    return tuple(getattr(spec, field.name) for field in dataclasses.fields(spec) if field.name not in _PER_CAPTURE)


def _as_plan_key(exc: CaptureError) -> str:
    """``--fps: ...`` -> ``fps: ...``: in a plan the culprit is a key, not a flag.

    The engine's own errors name fields, which are the plan's keys; a plan has no ``overwrite`` (it never
    replaces a file), so that way out is not offered.
    """
    if isinstance(exc, SettingError) and exc.origin.startswith(FLAG_PREFIX):
        key = exc.origin[len(FLAG_PREFIX):]
        return f"{key}: {exc.detail.replace(exc.origin, key)}"
    message = exc.describe(lambda field: field)
    if isinstance(exc, OutputError):
        return "output: " + message.replace("pass overwrite or ", "")
    return message


def _shared_files(plan: BatchPlan, resolved: list[Resolved]) -> list[Problem]:
    """A cursor log that is also another capture's video or cursor log (clip.mp4 and clip.mkv)."""
    owners: dict[Path, Resolved] = {}
    directories: dict[Path, Path] = {}
    for item in resolved:
        if item.plan.target.path is not None:
            owners[resolve_directory(item.plan.target.path, directories)] = item
    problems: list[Problem] = []
    for item in resolved:
        if item.plan.cursor is None:
            continue
        log = resolve_directory(item.plan.cursor.path, directories)
        other = owners.setdefault(log, item)
        if other is not item:
            problems.append(Problem(item.spec.index, f"{plan.path}: {item.spec.label}: output: its cursor log "
                                    f"{log.name} is also written by {other.spec.label}; give the captures "
                                    "different names"))
    return problems


def print_dry_run(env: Environment, resolved: list[Resolved]) -> None:
    """The plan as resolved: each capture's output, delay and FFmpeg command, on stdout."""
    total = len(resolved)
    for position, item in enumerate(resolved, start=1):
        spec, plan = item.spec, item.plan
        cursor = f", cursor log {plan.cursor.path}" if plan.cursor is not None else ""
        delay = f", after {spec.delay:g} s" if plan.delay else ""
        env.stdout.write(f"# {position}/{total} {spec.label}: {spec.output} "
                         f"({spec.duration:g} s{delay}{cursor})\n")
        env.stdout.write(shlex.join(Recorder(plan.ffmpeg).argv(plan.source, plan.encoding)) + "\n")


def shown_status(summary: JsonObject) -> str:
    """The status for people: a clean stop before the duration (exit 130) reads "stopped"."""
    if summary["status"] == "complete" and summary["exit_code"] == ExitStatus.INTERRUPTED:
        return "stopped"
    return str(summary["status"])


def _end_line(position: int, total: int, spec: CaptureSpec, summary: JsonObject) -> str:
    mark = "✓" if summary["exit_code"] == ExitStatus.OK else "✗"
    head = f"{mark} capture {position}/{total}: {spec.name}: {shown_status(summary)}"
    if summary["outputs"]["video"] is not None:
        head += (f", {format_duration(summary['duration_s'])}, {summary['frames']} frames, "
                 f"{format_bytes(summary['size_bytes'])}")
    if summary["error"]:
        head += f": {summary['error']}"
    return head + render_note(summary)


def run_captures(env: Environment, console: Console, resolved: list[Resolved], *, quiet: bool,
                 continue_on_error: bool, stop: StopControl) -> list[JsonObject]:
    """Record each capture in order; a summary for every one (skipped ones too)."""
    summaries: list[JsonObject] = []
    failed = False
    total = len(resolved)
    options = PanelOptions(stop=stop, cursor=any(item.plan.cursor is not None for item in resolved))
    with make_batch_display(console, quiet=quiet, total=total, options=options) as progress:
        for position, item in enumerate(resolved, start=1):
            if stop.requested or (failed and not continue_on_error):
                summaries.append(_batch_fields(empty_summary(status=STATUS_SKIPPED, exit_code=None, error=None),
                                               item.spec))
                continue
            shown = progress.begin(position, item.spec.name, delay=item.plan.delay)
            if item.plan.delay > 0 and stop.wait(item.plan.delay):
                summary = empty_summary(status=STATUS_CANCELLED, exit_code=ExitStatus.INTERRUPTED, error=None)
            else:
                try:
                    result = run_plan(item.plan, console=lambda: console, quiet=quiet, stop=stop, display=shown)
                except CaptureError as exc:
                    summary = error_summary(exc)
                else:
                    summary = result_summary(result, exit_code=exit_code(result, stop),
                                             cursor_log=item.plan.cursor.path if item.plan.cursor else None)
            if item.spec.render is not None and summary["exit_code"] == ExitStatus.OK:
                summary = render_after_capture(summary, bundle=item.plan.target.path, output=item.spec.render,
                                               ffmpeg_path=item.plan.ffmpeg.path)
            failed = failed or summary["exit_code"] != ExitStatus.OK
            summaries.append(_batch_fields(summary, item.spec))
            progress.end(position, _end_line(position, total, item.spec, summary))
    return summaries


def _batch_fields(summary: JsonObject, spec: CaptureSpec) -> JsonObject:
    """A batch summary is record's, plus where in the plan the capture came from."""
    return {**summary, "capture": {"index": spec.index, "n": spec.n, "output": str(spec.output)}}


def results_table(summaries: list[JsonObject], resolved: list[Resolved], *, width: int) -> Table:
    """One row per capture: how it ended and what it left; fewer columns on a narrow terminal."""
    columns = RESULT_COLUMNS if width >= WIDE_TABLE_MIN_WIDTH else NARROW_RESULT_COLUMNS
    table = Table(title="caprec batch", title_justify="left", show_edge=False, pad_edge=False)
    for name in columns:
        table.add_column(name, justify="left" if name in ("output", "status") else "right",
                         overflow="fold", no_wrap=name != "output")
    for position, (summary, item) in enumerate(zip(summaries, resolved, strict=True), start=1):
        ran = summary["outputs"]["video"] is not None
        status = shown_status(summary)
        code = summary["exit_code"]
        style = "green" if code == ExitStatus.OK else ("dim" if status == STATUS_SKIPPED else "red")
        cells: dict[str, str | Text] = {
            "#": str(position), "output": item.spec.name, "status": Text(status, style=style),
            "duration": format_duration(summary["duration_s"]) if ran else "-",
            "frames": str(summary["frames"]) if ran else "-",
            "dropped": str(summary["dropped_frames"]) if ran else "-",
            "size": format_bytes(summary["size_bytes"]) if ran else "-",
            "exit": "-" if code is None else str(code),
        }
        table.add_row(*(cells[name] for name in columns))
    return table


def run_batch(env: Environment, *, plan_path: Path, ffmpeg_path: str | None, continue_on_error: bool,
              json_output: bool, dry_run: bool, quiet: bool) -> int:
    """The whole command: validate everything, then record (or print the plan)."""
    console = error_console(env)

    try:
        plan = load_plan(plan_path)
        found: list[Problem] = []
    except PlanError as exc:
        # Check the captures that parsed too: every problem of the plan in one go.
        plan = BatchPlan(path=plan_path, captures=exc.captures)
        found = [Problem(problem.index or 0, line) for problem, line in zip(exc.problems, exc.lines(), strict=True)]
    resolved, problems, status = resolve_captures(env, plan, ffmpeg_path=ffmpeg_path, quiet=quiet)
    if found or problems:
        # sorted() is stable: in plan order, each capture's lines together.
        for problem in sorted(found + problems, key=lambda problem: problem.index):
            console.print(f"error: {problem.line}", markup=False, highlight=False, soft_wrap=True)
        return int(ExitStatus.USAGE if found else status)
    if dry_run:
        print_dry_run(env, resolved)
        return int(ExitStatus.OK)
    stop = StopControl()
    with stop_on_signals(stop):
        summaries = run_captures(env, console, resolved, quiet=quiet, continue_on_error=continue_on_error,
                                 stop=stop)
    if not quiet:
        console.print(results_table(summaries, resolved, width=console.width))
    if json_output:
        Reports(env=env, json_stdout=True).emit(summaries)
    if stop.requested:
        return int(ExitStatus.INTERRUPTED)
    return summary_exit_code(summaries)


def batch(
    plan: Annotated[Path, typer.Argument(metavar="PLAN.toml", show_default=False,
                                         help="A TOML plan of [\\[capture]] tables (see docs/batch.md).")],
    continue_on_error: Annotated[bool, typer.Option(
        "--continue-on-error", help="Go on with the next capture when one fails (default: stop, skip "
                                    "the rest).")] = False,
    json_output: Annotated[bool, typer.Option(
        "--json", help="Print a JSON array of per-capture summaries (caprec-summary/1) on stdout "
                       "at the end.")] = False,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Check the plan and print each capture's output and ffmpeg command; record "
                          "nothing.")] = False,
    ffmpeg_path: Annotated[str | None, typer.Option(
        "--ffmpeg", metavar="PATH", help="The ffmpeg binary to use (else as for caprec record).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")] = False,
) -> None:
    """Record several captures in order from a TOML plan, checked as a whole first."""
    env = Environment()
    run_guarded(env, lambda: run_batch(env, plan_path=plan, ffmpeg_path=ffmpeg_path,
                                       continue_on_error=continue_on_error, json_output=json_output,
                                       dry_run=dry_run, quiet=quiet))


__all__ = ["Resolved", "batch", "print_dry_run", "resolve_captures", "results_table", "run_batch",
           "run_captures"]
