"""``caprec record``: one recording from the shell."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from caprec.settings import schema as opt
from caprec.settings.variables import SCRIPT_JSON, SCRIPT_STATS_FILE, SCRIPT_SUMMARY_FILE, ScriptVariable

if TYPE_CHECKING:
    from caprec.capture.errors import CaptureError
    from caprec.capture.record.control import StopControl
    from caprec.settings.schema import Setting
    from rich.console import Console

PANEL_REPLAY = "Replay"

PANEL_OUTPUT = "Output"
PANEL_CAPTURE = "Capture"
PANEL_ENCODING = "Encoding"
PANEL_AUDIO = "Audio"
PANEL_CURSOR = "Cursor"
PANEL_SCRIPTING = "Scripting"
PANEL_CAMERA = "Camera"

KEYS_HELP = ("Keys while recording: space or p pauses and resumes; Ctrl-C stops and finishes the file; "
             "Ctrl-C twice stops now (the file still plays).")
NO_VARIABLE_HELP = "No variable for --output, --overwrite, --dry-run, --quiet, --verbose: they belong to one run."
EXAMPLES = f"""
{KEYS_HELP}

{NO_VARIABLE_HELP}

Examples:

  caprec record --source test --duration 5 -o demo.mp4

  caprec record --duration 1m30s --region 1280x720+0+0 -o talk.mkv

  caprec record --cursor -o talk.mp4            # and talk.cursor.ndjson

  caprec record --source test --duration 3 -o - | ffprobe -
"""


def _script_help(variable: ScriptVariable, text: str) -> str:
    return f"{text} Env: ${variable.name}."


def _help(setting: Setting[Any], text: str) -> str:
    """Option help with its default and variables (per-mode ones first), from the settings table."""
    env = ", ".join(f"${name}" for name in setting.all_env)
    return f"{text} Default: {setting.default_text}." + (f" Env: {env}." if env else "")


def _complete_sources(incomplete: str) -> list[str]:
    # ddagrab exists only on Windows: offer it there only.
    offered = [name for name in opt.SOURCES if name != "ddagrab" or sys.platform == "win32"]
    return [name for name in offered if name.startswith(incomplete)]


def _complete_codecs(incomplete: str) -> list[str]:
    from caprec.capture.ffmpeg.argv import SUPPORTED_CODECS

    return [name for name in sorted(SUPPORTED_CODECS) if name.startswith(incomplete)]


def _complete_modes(incomplete: str) -> list[str]:
    from caprec.capture.record.spec import Mode

    return [mode.value for mode in Mode if mode.value.startswith(incomplete)]


def record(
    output: Annotated[str | None, typer.Option(
        "--output", "-o", metavar="PATH", rich_help_panel=PANEL_OUTPUT,
        help="Output file: .mp4, .mov or .mkv (the extension picks the container; none: .mp4 is appended); "
             "'-' streams MP4 to stdout. Studio mode: the bundle directory (.caprec is appended when missing). "
             "Default: caprec-YYYYmmdd-HHMMSS.mp4 in --output-dir.")] = None,
    mode: Annotated[str | None, typer.Option(
        metavar="MODE", rich_help_panel=PANEL_OUTPUT,
        help=_help(opt.MODE, "instant: one shareable video, pointer drawn in. studio: a bundle directory for "
                   "editing (segments, separate audio, cursor log), pointer hidden."),
        autocompletion=_complete_modes)] = None,
    output_dir: Annotated[str | None, typer.Option(
        metavar="DIR", rich_help_panel=PANEL_OUTPUT,
        help=_help(opt.OUTPUT_DIR, "Directory for the default-named output (not used with -o)."))] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", rich_help_panel=PANEL_OUTPUT,
                                            help="Replace an existing output file (and its cursor log).")] = False,
    window: Annotated[str | None, typer.Option(
        metavar="ID|NAME|pick", rich_help_panel=PANEL_CAPTURE,
        help="Record one window: its X id, its title or class, or pick (click it). "
             "Windows: its title. Ends cleanly when the window closes.")] = None,
    screen: Annotated[str | None, typer.Option(
        metavar="N|NAME|all", rich_help_panel=PANEL_CAPTURE,
        help="Record one monitor (caprec devices lists them), or all of them. "
             "Default: the primary monitor.")] = None,
    follow_mouse: Annotated[bool, typer.Option(
        "--follow-mouse", rich_help_panel=PANEL_CAPTURE, help="Move the --region with the pointer (X11).")] = False,
    source: Annotated[str | None, typer.Option(
        metavar="SOURCE", rich_help_panel=PANEL_CAPTURE,
        help=_help(opt.SOURCE, "screen (x11grab / avfoundation / gdigrab by platform), test (a synthetic "
                   "pattern, paced in real time) or ddagrab (Windows, FFmpeg 6+: one monitor, GPU capture)."),
        autocompletion=_complete_sources)] = None,
    duration: Annotated[str | None, typer.Option(
        "--duration", "-d", metavar="TIME", rich_help_panel=PANEL_CAPTURE,
        help=_help(opt.DURATION, "Stop after 90, 1m30s or 00:01:30."))] = None,
    fps: Annotated[str | None, typer.Option(metavar="N", rich_help_panel=PANEL_CAPTURE,
                                            help=_help(opt.FPS, "Frames per second."))] = None,
    region: Annotated[str | None, typer.Option(
        metavar="WxH+X+Y|pick", rich_help_panel=PANEL_CAPTURE,
        help=_help(opt.REGION, "Capture WxH+X+Y of the screen (even W and H), or pick: drag it with the mouse "
                   "(X11)."))] = None,
    display: Annotated[str | None, typer.Option(
        metavar="NAME", rich_help_panel=PANEL_CAPTURE,
        help=_help(opt.DISPLAY, "X display to grab; on macOS the screen (Capture screen N); with ddagrab the "
                   "monitor index."))] = None,
    delay: Annotated[str | None, typer.Option(
        metavar="SECONDS", rich_help_panel=PANEL_CAPTURE,
        help=_help(opt.DELAY, "Count down this many seconds (0-3600) before recording; Ctrl-C cancels."))
    ] = None,
    codec: Annotated[str | None, typer.Option(
        metavar="NAME", rich_help_panel=PANEL_ENCODING,
        help=_help(opt.CODEC, "libx264, or a hardware encoder your ffmpeg has: h264_videotoolbox, h264_nvenc, "
                   "h264_qsv, h264_amf."), autocompletion=_complete_codecs)] = None,
    preset: Annotated[str | None, typer.Option(metavar="NAME", rich_help_panel=PANEL_ENCODING,
                                               help=_help(opt.PRESET, "Encoder preset."))] = None,
    crf: Annotated[str | None, typer.Option(
        metavar="N", rich_help_panel=PANEL_ENCODING,
        help=_help(opt.CRF, "Constant quality, 0 (best) to 51 (smallest)."))] = None,
    ffmpeg_path: Annotated[str | None, typer.Option(
        "--ffmpeg", metavar="PATH", rich_help_panel=PANEL_ENCODING,
        help=_help(opt.FFMPEG, "The ffmpeg binary to use."))] = None,
    pipe_buffer: Annotated[str | None, typer.Option(
        metavar="SIZE", rich_help_panel=PANEL_ENCODING,
        help=_help(opt.PIPE_BUFFER, f"Pipe buffer between ffmpeg and caprec, {opt.PIPE_BUFFER_RANGE_TEXT}, "
                   f"e.g. 512KiB or 1MiB."))] = None,
    queue_size: Annotated[str | None, typer.Option(
        metavar="N", rich_help_panel=PANEL_ENCODING,
        help=_help(opt.QUEUE_SIZE, f"Packets FFmpeg may queue per capture input (-thread_queue_size; FFmpeg 7+: "
                   f"per output too), {opt.QUEUE_SIZE_RANGE_TEXT}."))] = None,
    audio: Annotated[list[str] | None, typer.Option(
        metavar="DEVICE", rich_help_panel=PANEL_AUDIO,
        help=_help(opt.AUDIO, "Record audio; repeat it or give a comma list: mic, desktop "
                              "(what the computer plays), test (a tone); Linux: a PulseAudio source "
                              "(NAME, pulse:NAME) or alsa:NAME; macOS: an avfoundation index or "
                              "name; Windows: a DirectShow device name; none. See caprec devices."))] = None,
    audio_tracks: Annotated[str | None, typer.Option(
        metavar="mix|separate", rich_help_panel=PANEL_AUDIO,
        help="Several --audio inputs: mix them into one track (levels kept), or keep "
             "one track each. Default: mix (studio bundles: separate).")] = None,
    camera: Annotated[str | None, typer.Option(
        metavar="DEVICE|test", rich_help_panel=PANEL_CAMERA,
        help="Draw a camera in a corner (studio: record it as its own track, drawn by render): "
             "/dev/video0 (Linux), an avfoundation index (macOS), a DirectShow name (Windows), or test.")] = None,
    camera_position: Annotated[str | None, typer.Option(
        metavar="CORNER", rich_help_panel=PANEL_CAMERA,
        help="top-left, top-right, bottom-left or bottom-right. Default: bottom-right.")] = None,
    camera_size: Annotated[str | None, typer.Option(
        metavar="WIDTH", rich_help_panel=PANEL_CAMERA,
        help="The camera picture's width in pixels. Default: 320.")] = None,
    cursor: Annotated[bool | None, typer.Option(
        "--cursor/--no-cursor", show_default=False, rich_help_panel=PANEL_CURSOR,
        help=_help(opt.CURSOR, "Log mouse moves, clicks and scrolls to <output>.cursor.ndjson (studio mode "
                   "always keeps it in the bundle)."))] = None,
    cursor_flush: Annotated[str | None, typer.Option(
        metavar="SECONDS", rich_help_panel=PANEL_CURSOR,
        help=_help(opt.CURSOR_FLUSH, "Seconds between cursor log flushes."))] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", rich_help_panel=PANEL_SCRIPTING,
                                        help="Print nothing but errors.")] = False,
    verbose: Annotated[bool, typer.Option(
        "--verbose", "-v", rich_help_panel=PANEL_SCRIPTING,
        help="Show the internals on the live panel too (pipe high-water, cursor log flushes).")] = False,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", rich_help_panel=PANEL_SCRIPTING,
        help="Print the ffmpeg command, then each setting and where it came from (as # comments); record and "
             "create nothing.")] = False,
    json_output: Annotated[bool, typer.Option(
        "--json", rich_help_panel=PANEL_SCRIPTING,
        help=_script_help(SCRIPT_JSON, "Print a JSON summary (caprec-summary/1) on stdout at the end; with -o - "
                          "use --summary-file."))] = False,
    summary_file: Annotated[Path | None, typer.Option(
        metavar="PATH", rich_help_panel=PANEL_SCRIPTING,
        help=_script_help(SCRIPT_SUMMARY_FILE, "Write the JSON summary to PATH (replaced atomically)."))] = None,
    stats_file: Annotated[Path | None, typer.Option(
        metavar="PATH", rich_help_panel=PANEL_SCRIPTING,
        help=_script_help(SCRIPT_STATS_FILE, "Keep live stats in PATH as JSON (caprec-stats/1), replaced "
                          "atomically every 0.5 s; it ends with the final status."))] = None,
    replay: Annotated[str | None, typer.Option(
        metavar="T", rich_help_panel=PANEL_REPLAY,
        help="Keep the last T (30s, 2m) in memory and write nothing until a save (s key, SIGUSR2, caprec save); "
             "-o DIR or -o NAME names the clips. See docs/replay.md.")] = None,
    replay_max_memory: Annotated[str | None, typer.Option(
        metavar="SIZE", rich_help_panel=PANEL_REPLAY,
        help="Memory for the replay buffer; past it the oldest seconds go first. Default: 512MiB.")] = None,
    save_on_exit: Annotated[bool, typer.Option(
        "--save-on-exit", rich_help_panel=PANEL_REPLAY,
        help="Save the last T when the replay buffer stops (Ctrl-C, --duration).")] = False,
) -> None:
    """Record the screen (or a test pattern) to a crash-proof MP4."""
    # Imported here, not at the top: `record --help` and TAB completion import this module to build the
    # command's options and need none of this. A recording imports it before FFmpeg starts either way.
    from functools import cache, partial

    from caprec.boundary import describe, error_console, run_guarded
    from caprec.capture.errors import SettingError
    from caprec.capture.record.segment import StopControl
    from caprec.commands.plan import dry_run_text, resolve_plan
    from caprec.commands.run import exit_code, run_plan, stop_on_signals
    from caprec.commands.targets import TargetFlags, apply_targets, check_combinations
    from caprec.env import Environment
    from caprec.exit import ExitStatus
    from caprec.settings.variables import script_options
    from caprec.ui.feeds import WarningTally
    from caprec.ui.keys import pause_keys
    from caprec.ui.reports import STATUS_CANCELLED, Reports, empty_summary, result_summary

    env = Environment()
    try:
        script = script_options(env.environ, json_stdout=json_output, summary_file=summary_file,
                                stats_file=stats_file)
    except SettingError as exc:
        run_guarded(env, partial(_reraise, exc))
        return
    reports = Reports(env=env, json_stdout=script.json_stdout, summary_file=script.summary_file,
                      stats_file=script.stats_file, output=output)

    def body() -> int:
        if replay is not None or replay_max_memory is not None or save_on_exit:
            # Imported here: the replay buffer's modules are not needed (nor paid for) by a plain recording.
            from caprec.commands.replay import record_replay

            return record_replay(env=env, replay=replay, max_memory=replay_max_memory, save_on_exit=save_on_exit,
                                 output=output, dry_run=dry_run, quiet=quiet, json_output=json_output,
                                 summary_file=summary_file, stats_file=stats_file, plan_args=dict(
                                     source=source, fps=fps, region=region, duration=duration, codec=codec,
                                     preset=preset, crf=crf, display=display, ffmpeg_path=ffmpeg_path,
                                     pipe_buffer=pipe_buffer, cursor=cursor, cursor_flush=cursor_flush,
                                     output_dir=output_dir, delay=delay, mode=mode, queue_size=queue_size,
                                     audio=",".join(audio) if audio else None))
        targets = TargetFlags(window=window, screen=screen, follow_mouse=follow_mouse, region_pick=region == "pick",
                              region_given=region not in (None, "pick"), audio_tracks=audio_tracks, camera=camera,
                              camera_position=camera_position, camera_size=camera_size)
        check_combinations(targets)
        plan = resolve_plan(env=env, source=source, output=output, fps=fps,
                            region=None if targets.region_pick else region, duration=duration,
                            codec=codec, preset=preset, crf=crf, display=display, ffmpeg_path=ffmpeg_path,
                            overwrite=overwrite, pipe_buffer=pipe_buffer, cursor=cursor,
                            cursor_flush=cursor_flush, output_dir=output_dir, delay=delay, quiet=quiet,
                            dry_run=dry_run, mode=mode, audio=",".join(audio) if audio else None,
                            queue_size=queue_size)
        # The console (and rich) is made when something is printed: a quiet recording starts FFmpeg first.
        console = cache(partial(error_console, env))
        plan = apply_targets(plan, targets, say=lambda text: console().print(text, markup=False, soft_wrap=True))
        reports.check(to_stdout=plan.target.path is None, video=plan.target.path)
        if not quiet and not dry_run:
            for note in plan.notes:
                console().print(f"note: {note}", markup=False, soft_wrap=True)
        if dry_run:
            # As run_plan asks: --quiet without --stats-file reads no live stats.
            env.stdout.write(dry_run_text(plan, live_stats=not quiet or reports.stats_file is not None))
            return ExitStatus.OK
        stop = StopControl()
        tally = WarningTally()
        pausable = plan.target.path is not None
        # The handlers stay until the summary is out: a second Ctrl-C just after the file was finished
        # would otherwise meet Python's default handler mid-summary (a traceback-less 130 for a saved file).
        with stop_on_signals(stop, pausable=pausable):
            if not _count_down(plan.delay, console=console, quiet=quiet, stop=stop):
                if reports.wanted:
                    reports.emit(empty_summary(status=STATUS_CANCELLED, exit_code=ExitStatus.INTERRUPTED,
                                               error=None))
                return ExitStatus.INTERRUPTED  # cancelled during --delay: nothing was created
            with pause_keys(stop, enabled=pausable):
                result = run_plan(plan, console=console, quiet=quiet, stop=stop, stats_file=reports.stats_file,
                                  verbose=verbose, warnings=tally)
            if not quiet or result.error is not None:
                from caprec.ui.display import print_summary

                print_summary(console(), result, cursor_path=plan.cursor.path if plan.cursor else None,
                              warnings=tally)
            if result.error is not None:
                console().print(f"error: {describe(result.error)}", markup=False, soft_wrap=True)
            code = exit_code(result, stop)
            if reports.wanted:
                reports.emit(result_summary(result, exit_code=code, to_stdout=plan.target.path is None,
                                            cursor_log=plan.cursor.path if plan.cursor else None))
            return code

    run_guarded(env, reports.guard(body))


def _count_down(seconds: float, *, console: Callable[[], Console], quiet: bool, stop: StopControl) -> bool:
    """:func:`caprec.ui.countdown.countdown`; without a ``--delay`` it (and the console) is not even made."""
    if seconds <= 0:
        return not stop.requested  # a stop before the start still cancels
    from caprec.ui.countdown import countdown

    return countdown(seconds, console=console(), quiet=quiet, stop=stop)


def _reraise(exc: CaptureError) -> int:
    """A body for :func:`run_guarded` that raises ``exc``, so it is reported like any command's error."""
    raise exc
