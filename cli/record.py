"""``caprec record``: one recording from the shell."""

from __future__ import annotations

import contextlib
import shlex
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from capture.command import CRF_RANGE, DEFAULT_FPS, DEFAULT_TEST_SIZE, SUPPORTED_CODECS, Backend, Encoding, VideoSource
from capture import __version__
from capture.cursor import DEFAULT_FLUSH_INTERVAL, CursorContext, CursorSidecar, CursorWriter
from capture.cursor import Region as CursorRegion
from capture.errors import CaptureError, OutputError, SettingError
from capture.ffmpeg_bin import FFmpegBinary, find_ffmpeg
from capture.output import check_output_path, default_output_name
from capture.pump import DEFAULT_PIPE_BUFFER
from capture.recorder import Recorder, RecordingResult, Status, StopControl, Target
from capture.screen import default_backend, resolve_x11_display, x11_screen_size
from capture.units import (
    Region,
    check_region_fits,
    parse_byte_size,
    parse_duration,
    parse_fps,
    parse_region,
)
from cli.app import app, error_console, run_guarded
from cli.display import make_display, print_summary
from cli.env import Environment
from cli.exit import ExitStatus, exit_status_for

SOURCES = ("screen", "test")
CURSOR_SUFFIX = ".cursor.ndjson"
MIN_CURSOR_FLUSH_S = 0.05
MAX_CURSOR_FLUSH_S = 60.0
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))

EXAMPLES = """
Examples:

  caprec record --source test --duration 5 -o demo.mp4

  caprec record --duration 1m30s --region 1280x720+0+0 -o talk.mp4

  caprec record --source test --duration 3 -o - | ffprobe -
"""


@dataclass(frozen=True)
class CursorPlan:
    """Where and how the cursor log is written."""

    path: Path
    context: CursorContext
    flush_interval: float


@dataclass(frozen=True)
class RecordPlan:
    """Everything a recording needs, resolved and validated before anything starts."""

    ffmpeg: FFmpegBinary
    source: VideoSource
    encoding: Encoding
    target: Target
    pipe_buffer: int
    cursor: CursorPlan | None


def cursor_log_path(video: Path) -> Path:
    """``talk.mp4`` -> ``talk.cursor.ndjson`` beside it."""
    return video.with_name(video.stem + CURSOR_SUFFIX)


def plan_cursor(*, video: VideoSource, path: Path | None, screen: tuple[int, int] | None,
                flush: str | None, overwrite: bool) -> CursorPlan | None:
    """The cursor log for a recording to ``path``, or None when it has none."""
    interval = parse_flush_interval(flush) if flush is not None else DEFAULT_FLUSH_INTERVAL
    if path is None:
        return None
    log = cursor_log_path(path)
    if log.exists() and not overwrite:
        raise OutputError(f"{log} already exists; pass --overwrite or choose another -o")
    region = video.region
    width, height = screen if screen is not None else (0, 0)
    if region is not None:
        area = CursorRegion(x=region.x, y=region.y, width=region.width, height=region.height)
    elif screen is not None:
        area = CursorRegion(x=0, y=0, width=width - width % 2, height=height - height % 2)
    else:
        return None  # the screen size is unknown: positions could not be mapped to the video
    return CursorPlan(
        path=log,
        context=CursorContext(
            caprec_version=__version__, source=str(video.backend), region=area,
            screen_width=screen[0] if screen else None, screen_height=screen[1] if screen else None,
            # pynput reports points on macOS, where the video is in pixels.
            unit="points" if video.backend is Backend.AVFOUNDATION else "pixels",
            fps=video.fps,
        ),
        flush_interval=interval,
    )


def parse_flush_interval(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise SettingError("--cursor-flush", f"{text!r} is not a number of seconds; use e.g. 1 or 0.5") from None
    if not MIN_CURSOR_FLUSH_S <= value <= MAX_CURSOR_FLUSH_S:
        raise SettingError("--cursor-flush", f"{text!r} is out of range; use {MIN_CURSOR_FLUSH_S:g} to "
                                             f"{MAX_CURSOR_FLUSH_S:g} seconds")
    return value


def resolve_plan(*, env: Environment, source: str, output: str | None, fps: str, region: str | None,
                 duration: str | None, codec: str, preset: str | None, crf: int | None,
                 display: str | None, ffmpeg_path: str | None, overwrite: bool,
                 pipe_buffer: str | None, cursor: bool | None = None,
                 cursor_flush: str | None = None) -> RecordPlan:
    """Validate every option and find ffmpeg; raises a CaptureError naming the culprit."""
    if source not in SOURCES:
        raise SettingError("--source", f"{source!r} is not a source; use one of {', '.join(SOURCES)}")
    fps_value = parse_fps(fps)
    region_value: Region | None = parse_region(region) if region is not None else None
    duration_value = parse_duration(duration) if duration is not None else None
    if codec not in SUPPORTED_CODECS:
        raise SettingError("--codec", f"{codec!r} is not supported; use one of {', '.join(sorted(SUPPORTED_CODECS))}")
    if crf is not None and not CRF_RANGE[0] <= crf <= CRF_RANGE[1]:
        raise SettingError("--crf", f"{crf} is out of range; use {CRF_RANGE[0]} (best) to {CRF_RANGE[1]} (smallest)")
    buffer_size = parse_byte_size(pipe_buffer, origin="--pipe-buffer") if pipe_buffer else DEFAULT_PIPE_BUFFER
    to_stdout = output == "-"
    path = None if to_stdout else Path(output or default_output_name())
    if path is not None:
        check_output_path(path, overwrite=overwrite)
    binary = find_ffmpeg(explicit=ffmpeg_path, environ=env.environ)
    if codec not in binary.encoders:
        raise SettingError("--codec", f"{codec} is not available in {binary.path} ({binary.version}); "
                                      "use libx264 or an ffmpeg built with it")
    if source == "test":
        if region_value is not None:
            raise SettingError("--region", "the test source has no screen to crop; drop --region")
        video = VideoSource(backend=Backend.LAVFI, fps=fps_value, device=DEFAULT_TEST_SIZE)
        size: tuple[int, int] | None = None
    else:
        backend = default_backend()
        device = ""
        size = None
        if backend is Backend.X11GRAB:
            device = resolve_x11_display(display, env.environ)
            size = x11_screen_size(device)
            if region_value is not None and size is not None:
                check_region_fits(region_value, screen_width=size[0], screen_height=size[1])
        elif display is not None:
            device = display
        video = VideoSource(backend=backend, fps=fps_value, device=device, region=region_value)
    # The cursor log is on by default for the screen and off for the test
    # pattern, whose pointer is not in the picture.
    wants_cursor = cursor if cursor is not None else source == "screen"
    cursor_plan = plan_cursor(video=video, path=path, screen=size, flush=cursor_flush,
                              overwrite=overwrite) if wants_cursor else None
    if cursor_flush is not None and not wants_cursor:
        parse_flush_interval(cursor_flush)
    return RecordPlan(ffmpeg=binary, source=video, cursor=cursor_plan,
                      encoding=Encoding(codec=codec, preset=preset, crf=crf, duration=duration_value),
                      target=Target(path=path, fd=env.stdout_fd if to_stdout else None, overwrite=overwrite),
                      pipe_buffer=buffer_size)


def make_sidecar(plan: CursorPlan | None) -> CursorSidecar | None:
    """The cursor sidecar for ``plan``; None when the recording has no cursor log."""
    if plan is None:
        return None
    if plan.path.exists():
        plan.path.unlink()  # only reached with --overwrite (checked while planning)
    return CursorSidecar(CursorWriter(plan.path, plan.context, flush_interval=plan.flush_interval))


def run_plan(plan: RecordPlan, *, console: Console, quiet: bool, stop: StopControl) -> RecordingResult:
    """Record ``plan`` with a live display; a recording that never started leaves no cursor log."""
    recorder = Recorder(plan.ffmpeg, pipe_buffer=plan.pipe_buffer)
    sidecar = make_sidecar(plan.cursor)
    try:
        with make_display(console, quiet=quiet) as shown:
            return recorder.record(plan.source, plan.encoding, plan.target, stop=stop,
                                   on_stats=shown.update, on_warning=shown.warn, sidecar=sidecar)
    except CaptureError:
        if plan.cursor is not None:
            plan.cursor.path.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def stop_on_signals(stop: StopControl) -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP ask the recording to stop (twice: stop fast)."""
    def handler(signum: int, frame: object) -> None:
        stop.request()

    previous = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def exit_code(result: RecordingResult, stop: StopControl) -> ExitStatus:
    if result.error is not None:
        return exit_status_for(result.error)
    if result.status is Status.INTERRUPTED:
        return ExitStatus.INTERRUPTED
    if stop.requested and result.stop_reason == "user" and result.stats.duration_s is not None:
        return ExitStatus.INTERRUPTED  # ended before the --duration it was asked for
    return ExitStatus.OK


@app.command(epilog=EXAMPLES)
def record(
    output: Annotated[str | None, typer.Option("--output", "-o", help="Output file; '-' streams the MP4 to stdout. "
                                               "Default: caprec-YYYYmmdd-HHMMSS.mp4 here.")] = None,
    source: Annotated[str, typer.Option(help="screen (x11grab / avfoundation / gdigrab by platform) or test "
                                        "(a synthetic pattern, paced in real time).")] = "screen",
    duration: Annotated[str | None, typer.Option("--duration", "-d", help="Stop after 90, 1m30s or 00:01:30. "
                                                 "Default: until Ctrl-C.")] = None,
    fps: Annotated[str, typer.Option(help="Frames per second.")] = f"{DEFAULT_FPS:g}",
    region: Annotated[str | None, typer.Option(help="Capture WxH+X+Y of the screen (even W and H).")] = None,
    codec: Annotated[str, typer.Option(help="libx264, or a hardware encoder your ffmpeg has: "
                                       "h264_videotoolbox, h264_nvenc, h264_qsv, h264_amf.")] = "libx264",
    preset: Annotated[str | None, typer.Option(help="Encoder preset (libx264 default: veryfast).")] = None,
    crf: Annotated[int | None, typer.Option(help="Constant quality, 0 (best) to 51 (smallest); libx264 "
                                            "default 23.")] = None,
    display: Annotated[str | None, typer.Option(help="X display to grab (default $DISPLAY); the screen "
                                                "device on macOS.")] = None,
    ffmpeg_path: Annotated[str | None, typer.Option("--ffmpeg", help="The ffmpeg binary to use "
                                                    "(else $CAPREC_FFMPEG, PATH, imageio-ffmpeg).")] = None,
    pipe_buffer: Annotated[str | None, typer.Option(help="Pipe buffer between ffmpeg and caprec, e.g. 1MiB.")] = None,
    cursor: Annotated[bool | None, typer.Option("--cursor/--no-cursor", help="Log mouse moves, clicks and scrolls "
                                                "to <output>.cursor.ndjson. Default: on for the screen, off for "
                                                "the test source.", show_default=False)] = None,
    cursor_flush: Annotated[str | None, typer.Option(help="Seconds between cursor log flushes "
                                                     f"(default {DEFAULT_FLUSH_INTERVAL:g}).")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing output file "
                                            "(and its cursor log).")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the ffmpeg command and exit.")] = False,
) -> None:
    """Record the screen (or a test pattern) to a crash-proof MP4."""
    env = Environment()

    def body() -> int:
        plan = resolve_plan(env=env, source=source, output=output, fps=fps, region=region, duration=duration,
                            codec=codec, preset=preset, crf=crf, display=display, ffmpeg_path=ffmpeg_path,
                            overwrite=overwrite, pipe_buffer=pipe_buffer, cursor=cursor,
                            cursor_flush=cursor_flush)
        console = error_console(env)
        if dry_run:
            argv = Recorder(plan.ffmpeg).argv(plan.source, plan.encoding)
            env.stdout.write(shlex.join(argv) + "\n")
            return ExitStatus.OK
        stop = StopControl()
        with stop_on_signals(stop):
            result = run_plan(plan, console=console, quiet=quiet, stop=stop)
        if not quiet or result.error is not None:
            print_summary(console, result, cursor_path=plan.cursor.path if plan.cursor else None)
        if result.error is not None:
            console.print(f"error: {result.error}", markup=False)
        return exit_code(result, stop)

    run_guarded(env, body)
