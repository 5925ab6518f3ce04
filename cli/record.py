"""``caprec record``: one recording from the shell."""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from capture import __version__
from capture import settings as opt
from capture.audio import parse_audio
from capture.command import (
    DEFAULT_TEST_SIZE,
    SUPPORTED_CODECS,
    AudioSource,
    Backend,
    Encoding,
    VideoSource,
)
from capture.config import load_config
from capture.cursor import DEFAULT_FLUSH_INTERVAL, CursorContext, CursorSidecar, CursorWriter
from capture.cursor import Region as CursorRegion
from capture.cursor_shapes import SHAPES_DIR, ShapeSidecar
from capture.errors import CaptureError, OutputError, SettingError
from capture.ffmpeg_bin import FFmpegBinary, find_ffmpeg
from capture.output import check_output_path, default_output_name
from capture.recorder import Recorder, RecordingResult, Status, StopControl, Target
from capture.screen import default_backend, resolve_x11_display, x11_screen_size
from capture.session import (
    CURSOR_NAME,
    STUDIO_SUFFIX,
    CursorLog,
    Mode,
    Session,
    SessionSpec,
    segment_files,
)
from capture.session import CursorSpec as CursorPlan
from capture.settings import MAX_CURSOR_FLUSH_S as MAX_CURSOR_FLUSH_S
from capture.settings import MIN_CURSOR_FLUSH_S as MIN_CURSOR_FLUSH_S
from capture.settings import SOURCES as SOURCES
from capture.settings import OriginKind, RawValue, ResolvedSettings, Setting
from capture.units import check_region_fits
from cli.app import app, error_console, run_guarded
from cli.countdown import countdown
from cli.display import Display, TeeDisplay, make_display, print_summary
from cli.env import Environment
from cli.exit import ExitStatus, exit_status_for
from cli.keys import pause_keys
from cli.output import STATUS_CANCELLED, Reports, StatsFileWriter, empty_summary, result_summary

CURSOR_SUFFIX = ".cursor.ndjson"
#: Names that say "a media file": in studio mode ``-o talk.mp4`` is refused, not made a directory.
MEDIA_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".mkv", ".webm", ".m4a", ".mp3", ".wav", ".aac"})
#: FFmpeg writes the video to caprec's pipe, which caprec writes to the output.
PIPE_OUTPUT = "pipe:1"
PAUSE_SIGNAL = getattr(signal, "SIGUSR1", None)
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))

EXAMPLES = """
Examples:

  caprec record --source test --duration 5 -o demo.mp4

  caprec record --duration 1m30s --region 1280x720+0+0 -o talk.mp4

  caprec record --source test --duration 3 -o - | ffprobe -
"""


@dataclass(frozen=True)
class RecordPlan:
    """Everything a recording needs, resolved and validated before anything starts.

    ``target.path`` is the MP4 in instant mode and the bundle directory in
    studio mode; nothing exists yet in either. ``queue_size`` is also in
    ``source`` and ``audio`` (their ``-thread_queue_size``) and, with FFmpeg
    7+, goes on each output.
    """

    ffmpeg: FFmpegBinary
    source: VideoSource
    encoding: Encoding
    target: Target
    pipe_buffer: int
    cursor: CursorPlan | None
    delay: float = 0.0
    settings: ResolvedSettings | None = None
    mode: Mode = Mode.INSTANT
    audio: AudioSource | None = None
    queue_size: int = opt.DEFAULT_QUEUE_SIZE_INSTANT

    @property
    def bundle(self) -> Path | None:
        """The studio bundle directory (``target.path``; created when recording starts), None in instant mode."""
        return self.target.path if self.mode is Mode.STUDIO else None


def cursor_log_path(video: Path) -> Path:
    """``talk.mp4`` -> ``talk.cursor.ndjson`` beside it."""
    return video.with_name(video.stem + CURSOR_SUFFIX)


def plan_cursor(*, video: VideoSource, path: Path | None, screen: tuple[int, int] | None,
                flush: str | float | None, overwrite: bool, log: Path | None = None) -> CursorPlan | None:
    """The cursor log for a recording to ``path``, or None when it has none.

    ``flush`` is the flush interval: text (checked as ``--cursor-flush``) or
    seconds. ``log`` is the log's path (default: beside ``path``, see
    :func:`cursor_log_path`; a studio bundle's ``cursor.ndjson``).
    """
    if flush is None:
        interval = DEFAULT_FLUSH_INTERVAL
    else:
        interval = parse_flush_interval(flush) if isinstance(flush, str) else flush
    if path is None:
        return None
    log = cursor_log_path(path) if log is None else log
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
        # pynput watches $DISPLAY: the one being recorded (--display) must win.
        display=video.device if video.backend is Backend.X11GRAB else None,
    )


def parse_flush_interval(text: str) -> float:
    """``--cursor-flush`` seconds (see :func:`capture.settings.parse_cursor_flush`)."""
    return opt.parse_cursor_flush(text, "--cursor-flush")


def _flag(value: RawValue | None) -> RawValue | None:
    """A flag-only switch counts as given only when it is on."""
    return value if value else None


def resolve_settings_for(*, env: Environment, flags: dict[str, RawValue | None],
                         config: opt.ConfigValues | None = None) -> ResolvedSettings:
    """Every record setting: flag > environment variable > config file > default.

    The config file is read (and checked as a whole) unless ``config`` is given.
    """
    if config is None:
        config = load_config(environ=env.environ)
    return opt.resolve_settings(flags=flags, environ=env.environ, config=config)


def resolve_plan(*, env: Environment, source: str | None = None, output: str | None = None,
                 fps: str | float | None = None, region: str | None = None, duration: str | float | None = None,
                 codec: str | None = None, preset: str | None = None, crf: str | int | None = None,
                 display: str | None = None, ffmpeg_path: str | None = None, overwrite: bool = False,
                 pipe_buffer: str | int | None = None, cursor: bool | None = None,
                 cursor_flush: str | float | None = None, output_dir: str | None = None,
                 delay: str | float | None = None, quiet: bool = False, dry_run: bool = False,
                 mode: str | None = None, audio: str | None = None, queue_size: str | int | None = None,
                 config: opt.ConfigValues | None = None) -> RecordPlan:
    """Resolve and validate every option and find ffmpeg; raises a CaptureError naming the culprit.

    Arguments are the command-line values, None when not given; the rest
    comes from CAPREC_* variables, the config file, then the defaults. The
    mode is resolved first: it picks the per-mode variables and defaults of
    ``queue_size`` and ``pipe_buffer``.
    """
    settings = resolve_settings_for(env=env, config=config, flags={
        opt.SOURCE.key: source, opt.OUTPUT.key: output, opt.FPS.key: fps, opt.REGION.key: region,
        opt.DURATION.key: duration, opt.CODEC.key: codec, opt.PRESET.key: preset, opt.CRF.key: crf,
        opt.DISPLAY.key: display, opt.FFMPEG.key: ffmpeg_path, opt.OVERWRITE.key: _flag(overwrite),
        opt.PIPE_BUFFER.key: pipe_buffer, opt.CURSOR.key: cursor, opt.CURSOR_FLUSH.key: cursor_flush,
        opt.OUTPUT_DIR.key: output_dir, opt.DELAY.key: delay, opt.QUIET.key: _flag(quiet),
        opt.DRY_RUN.key: _flag(dry_run), opt.MODE.key: mode, opt.AUDIO.key: audio,
        opt.QUEUE_SIZE.key: queue_size,
    })
    return plan_from_settings(env=env, settings=settings)


def _culprit(settings: ResolvedSettings, setting: Setting[Any]) -> str:
    return settings.origin(setting).culprit


def _output_path(settings: ResolvedSettings) -> Path | None:
    """The output file: ``-o`` as given, else a default name in ``output_dir``; None for stdout."""
    output = settings.get(opt.OUTPUT)
    if output == "-":
        return None
    if output:
        return Path(output)
    return _output_dir(settings) / default_output_name()


def _output_dir(settings: ResolvedSettings) -> Path:
    """Where default-named recordings go: ``output_dir`` (which must exist), else the current directory."""
    directory = settings.get(opt.OUTPUT_DIR)
    if directory is None:
        return Path()
    if not directory.is_dir():
        raise SettingError(_culprit(settings, opt.OUTPUT_DIR),
                           f"{directory} is not a directory; create it or choose another")
    return directory


def default_bundle_name() -> str:
    """``caprec-YYYYmmdd-HHMMSS.caprec``: the default name with the studio suffix."""
    return str(Path(default_output_name()).with_suffix(STUDIO_SUFFIX))


def _bundle_path(settings: ResolvedSettings) -> Path:
    """The studio bundle: ``-o NAME`` (``.caprec`` appended when missing), else a default name.

    Refuses ``-o -`` (a directory cannot stream to stdout) and a media file
    name (``talk.mp4``): the culprit is the mode's origin or ``--output``.
    """
    mode = _culprit(settings, opt.MODE)
    output = settings.get(opt.OUTPUT)
    if output == "-":
        raise SettingError(mode, "studio mode writes a bundle directory, which cannot go to stdout; "
                                 "drop -o - or use --mode instant")
    if not output:
        return _output_dir(settings) / default_bundle_name()
    path = Path(output)
    if path.name in ("", ".", ".."):
        raise SettingError("--output", f"{output!r} names no bundle; give a name such as talk{STUDIO_SUFFIX}")
    if path.suffix.lower() == STUDIO_SUFFIX:
        return path
    if path.suffix.lower() in MEDIA_SUFFIXES:
        raise SettingError("--output", f"{output} is a media file name, but studio mode ({mode}) writes a bundle "
                                       f"directory; use -o {path.with_suffix(STUDIO_SUFFIX)} or --mode instant")
    return path.with_name(path.name + STUDIO_SUFFIX)


def check_bundle_path(path: Path) -> None:
    """Refuse a studio bundle that cannot be created, before anything starts.

    The bundle must not exist (``--overwrite`` does not change that: caprec
    never deletes a directory, nor replaces a file with one), and its parent
    must be a writable directory. Raises :class:`OutputError`.
    """
    if path.is_dir():
        if any(path.iterdir()):
            raise OutputError(f"{path} already exists and is not empty; caprec never deletes a directory, "
                              "even with --overwrite: choose another -o")
        raise OutputError(f"{path} already exists (empty); remove it or choose another -o "
                          "(--overwrite never replaces a bundle)")
    if os.path.lexists(path):
        raise OutputError(f"{path} exists and is not a directory; caprec does not replace a file with a "
                          "bundle: choose another -o")
    parent = path.absolute().parent
    if not parent.is_dir():
        raise OutputError(f"directory {parent} does not exist; create it first or choose another -o")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"directory {parent} is not writable; choose another -o")


def plan_argv(plan: RecordPlan) -> list[str]:
    """The FFmpeg command the recording of ``plan`` runs (its first segment's, in studio mode).

    The video goes to caprec's pipe (``pipe:1``), which caprec writes to the
    output; in studio mode with audio, the audio goes to the first
    segment's ``audio.m4a``. The queue size is on each capture input and,
    with FFmpeg 7+, on each output.
    """
    audio_output = None
    if plan.bundle is not None:
        _, audio_output = segment_files(Mode.STUDIO, plan.bundle, 1, audio=plan.audio is not None)
    return Recorder(plan.ffmpeg).argv(plan.source, plan.encoding, audio=plan.audio, audio_output=audio_output,
                                      output_queue_size=plan.queue_size)


def plan_from_settings(*, env: Environment, settings: ResolvedSettings) -> RecordPlan:
    """The plan for resolved ``settings``: check the output, find ffmpeg, size the screen.

    Creates nothing: a studio bundle is only checked (the session creates it
    when recording starts).
    """
    source = settings.get(opt.SOURCE)
    fps_value = settings.get(opt.FPS)
    codec = settings.get(opt.CODEC)
    overwrite = settings.get(opt.OVERWRITE)
    region_value = settings.get(opt.REGION)
    mode = settings.get(opt.MODE)
    studio = mode is Mode.STUDIO
    queue_size = settings.get(opt.QUEUE_SIZE)
    path: Path | None
    if studio:
        path = _bundle_path(settings)
        check_bundle_path(path)
    else:
        path = _output_path(settings)
        if path is not None:
            check_output_path(path, overwrite=overwrite)
    audio = _plan_audio(settings, queue_size=queue_size)
    ffmpeg_origin = settings.origin(opt.FFMPEG)
    binary = find_ffmpeg(explicit=settings.get(opt.FFMPEG), explicit_origin=ffmpeg_origin.culprit,
                         environ=env.environ)
    if codec not in binary.encoders:
        raise SettingError(_culprit(settings, opt.CODEC), f"{codec} is not available in {binary.path} "
                                                          f"({binary.version}); use libx264 or an ffmpeg built with it")
    if source == "test":
        if region_value is not None and settings.origin(opt.REGION).kind is OriginKind.FLAG:
            raise SettingError("--region", "the test source has no screen to crop; drop --region")
        # A region from a variable or the config file is a screen default: not for the test pattern.
        region_value = None
        video = VideoSource(backend=Backend.LAVFI, fps=fps_value, device=DEFAULT_TEST_SIZE, queue_size=queue_size)
        size: tuple[int, int] | None = None
    else:
        display = settings.get(opt.DISPLAY)
        backend = default_backend()
        device = ""
        size = None
        if backend is Backend.X11GRAB:
            device = resolve_x11_display(display, env.environ)
            size = x11_screen_size(device)
            if region_value is not None and size is not None:
                check_region_fits(region_value, screen_width=size[0], screen_height=size[1],
                                  origin=_culprit(settings, opt.REGION))
        elif display is not None:
            device = display
        # Studio hides the pointer from the video: the cursor log carries it, for the editor to draw.
        video = VideoSource(backend=backend, fps=fps_value, device=device, region=region_value,
                            draw_mouse=not studio, queue_size=queue_size)
    # The cursor log is on by default for the screen and off for the test
    # pattern, whose pointer is not in the picture.
    cursor = settings.get(opt.CURSOR)
    wants_cursor = cursor if cursor is not None else source == "screen"
    log = path / CURSOR_NAME if studio and path is not None else None
    cursor_plan = plan_cursor(video=video, path=path, screen=size, flush=settings.get(opt.CURSOR_FLUSH),
                              overwrite=overwrite, log=log) if wants_cursor else None
    if cursor_plan is not None and log is not None and path is not None and video.backend is Backend.X11GRAB:
        cursor_plan = replace(cursor_plan, shapes_dir=path / SHAPES_DIR)  # the real pointer images, for render
    encoding = Encoding(codec=codec, preset=settings.get(opt.PRESET), crf=settings.get(opt.CRF),
                        duration=settings.get(opt.DURATION))
    return RecordPlan(ffmpeg=binary, source=video, cursor=cursor_plan, encoding=encoding,
                      target=Target(path=path, fd=env.stdout_fd if path is None else None,
                                    overwrite=overwrite and not studio),
                      pipe_buffer=settings.get(opt.PIPE_BUFFER), delay=settings.get(opt.DELAY), settings=settings,
                      mode=mode, audio=audio, queue_size=queue_size)


def _plan_audio(settings: ResolvedSettings, *, queue_size: int) -> AudioSource | None:
    """The audio input the ``audio`` setting names on this platform, with the queue size; None for none."""
    text = settings.get(opt.AUDIO)
    if text is None:
        return None
    audio = parse_audio(text, platform=sys.platform, origin=_culprit(settings, opt.AUDIO))
    return replace(audio, queue_size=queue_size)


def make_sidecar(plan: CursorPlan, warn: Callable[[str], None]) -> CursorLog:
    """The cursor sidecar for ``plan`` (the session starts and stops it).

    A write error (a full disk) is reported once through ``warn``; the
    recording goes on and the events wait for the next flush.
    """
    if plan.path.exists():
        plan.path.unlink()  # only reached with --overwrite (checked while planning)
    if plan.display is not None:
        # pynput's X listener opens $DISPLAY; this process records one display.
        os.environ["DISPLAY"] = plan.display

    def write_failed(exc: OSError) -> None:
        warn(f"cursor log {plan.path}: {exc.strerror or exc}; events are kept and written when it works again")

    sidecar = CursorSidecar(CursorWriter(plan.path, plan.context, flush_interval=plan.flush_interval,
                                         on_error=write_failed))
    if plan.shapes_dir is None:
        return sidecar
    return ShapeSidecar(sidecar, plan.shapes_dir, display=plan.display, warn=warn)


def session_spec(plan: RecordPlan) -> SessionSpec:
    """What the engine's session records for ``plan``."""
    return SessionSpec(mode=plan.mode, source=plan.source, encoding=plan.encoding, output=plan.target.path,
                       fd=plan.target.fd, overwrite=plan.target.overwrite, audio=plan.audio,
                       queue_size=plan.queue_size, cursor=plan.cursor)


def run_plan(plan: RecordPlan, *, console: Console, quiet: bool, stop: StopControl,
             display: Display | None = None, stats_file: Path | None = None) -> RecordingResult:
    """Record ``plan`` with a live display; a recording that never started leaves no cursor log.

    ``display`` replaces the one made for ``console`` (a batch shows its own);
    ``stats_file`` is kept current while recording and ends with the final status.
    """
    session = Session(Recorder(plan.ffmpeg, pipe_buffer=plan.pipe_buffer), cursor_factory=make_sidecar)
    shown = display if display is not None else make_display(console, quiet=quiet)
    video = str(plan.target.path.absolute()) if plan.target.path is not None else "-"
    stats = None if stats_file is None else StatsFileWriter(stats_file, video=video, on_error=shown.warn)
    try:
        with TeeDisplay(shown, *(() if stats is None else (stats,))) as both:
            result = session.run(session_spec(plan), stop=stop, on_stats=both.update, on_warning=both.warn)
    except CaptureError as exc:
        if plan.cursor is not None and plan.mode is Mode.INSTANT:
            plan.cursor.path.unlink(missing_ok=True)
        if stats is not None:
            stats.fail(exc)
        raise
    if stats is not None:
        stats.finish(result, exit_code=exit_code(result, stop))
    return result


@contextlib.contextmanager
def stop_on_signals(stop: StopControl, *, pausable: bool = True) -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP ask the recording to stop (twice: stop fast);
    SIGUSR1 pauses and resumes it (POSIX), unless it cannot pause (``-o -``)."""
    def handler(signum: int, frame: object) -> None:
        stop.request()

    def toggle(signum: int, frame: object) -> None:
        stop.toggle_pause()

    previous = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}
    if pausable and PAUSE_SIGNAL is not None:
        previous[PAUSE_SIGNAL] = signal.signal(PAUSE_SIGNAL, toggle)
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


def _help(setting: Setting[Any], text: str) -> str:
    """Option help with its default and variables (per-mode ones first), from the settings table."""
    env = ", ".join(f"${name}" for name in setting.all_env)
    return f"{text} Default: {setting.default_text}." + (f" Env: {env}." if env else "")


def dry_run_text(plan: RecordPlan) -> str:
    """What ``--dry-run`` prints: the FFmpeg command, where its output goes, then every setting.

    Everything after the command is a ``#`` comment, so the text stays a
    valid shell script (``shlex.split(text, comments=True)`` is the argv).
    """
    lines = [shlex.join(plan_argv(plan))]
    bundle = plan.bundle
    if bundle is not None:
        video, audio = segment_files(Mode.STUDIO, bundle.absolute(), 1, audio=plan.audio is not None)
        lines.append(f"# {PIPE_OUTPUT} -> {video} (the bundle is created when recording starts)")
        if audio is not None:
            lines.append(f"# audio -> {audio}")
    elif plan.target.path is not None:
        lines.append(f"# {PIPE_OUTPUT} -> {plan.target.path.absolute()}")
    else:
        lines.append(f"# {PIPE_OUTPUT} -> stdout")
    if plan.cursor is not None:
        lines.append(f"# cursor log -> {plan.cursor.path.absolute()}")
    # Where a default is a description ("PATH, then imageio-ffmpeg"), show what it resolved to.
    resolved = {
        opt.OUTPUT.key: "-" if plan.target.path is None else str(plan.target.path),
        opt.FFMPEG.key: f"{plan.ffmpeg.path} ({plan.ffmpeg.version})",
        opt.CURSOR.key: "on" if plan.cursor is not None else "off",
    }
    for entry in plan.settings or ():
        key = entry.setting.key
        shown = resolved[key] if key in resolved else entry.setting.format(entry.value)
        lines.append(f"# {key} = {shown}  ({entry.origin})")
    return "\n".join(lines) + "\n"


def _complete_sources(incomplete: str) -> list[str]:
    return [name for name in opt.SOURCES if name.startswith(incomplete)]


def _complete_codecs(incomplete: str) -> list[str]:
    return [name for name in sorted(SUPPORTED_CODECS) if name.startswith(incomplete)]


def _complete_modes(incomplete: str) -> list[str]:
    return [mode.value for mode in Mode if mode.value.startswith(incomplete)]


@app.command(epilog=EXAMPLES)
def record(
    output: Annotated[str | None, typer.Option("--output", "-o", help="Output file; '-' streams the MP4 to stdout. "
                                               "Studio mode: the bundle directory (.caprec is appended when "
                                               "missing; it must not exist). Default: caprec-YYYYmmdd-HHMMSS.mp4 "
                                               "(studio: .caprec) in --output-dir.")] = None,
    mode: Annotated[str | None, typer.Option(
        metavar="instant|studio",
        help=_help(opt.MODE, "instant: one shareable MP4, pointer drawn in. studio: a bundle directory for "
                   "editing (segments, separate audio, cursor log), pointer hidden."),
        autocompletion=_complete_modes)] = None,
    audio: Annotated[str | None, typer.Option(
        metavar="DEVICE", help=_help(opt.AUDIO, "Record audio: test (a tone); Linux: a PulseAudio source "
                                     "(default, NAME, pulse:NAME) or alsa:NAME; macOS: an avfoundation index or "
                                     "name; Windows: a DirectShow device name; none. See caprec devices."))] = None,
    source: Annotated[str | None, typer.Option(
        help=_help(opt.SOURCE, "screen (x11grab / avfoundation / gdigrab by platform) or test (a synthetic "
                   "pattern, paced in real time)."), autocompletion=_complete_sources)] = None,
    duration: Annotated[str | None, typer.Option(
        "--duration", "-d", metavar="T", help=_help(opt.DURATION, "Stop after 90, 1m30s or 00:01:30."))] = None,
    fps: Annotated[str | None, typer.Option(metavar="N", help=_help(opt.FPS, "Frames per second."))] = None,
    region: Annotated[str | None, typer.Option(
        metavar="WxH+X+Y", help=_help(opt.REGION, "Capture WxH+X+Y of the screen (even W and H)."))] = None,
    codec: Annotated[str | None, typer.Option(
        help=_help(opt.CODEC, "libx264, or a hardware encoder your ffmpeg has: h264_videotoolbox, h264_nvenc, "
                   "h264_qsv, h264_amf."), autocompletion=_complete_codecs)] = None,
    preset: Annotated[str | None, typer.Option(help=_help(opt.PRESET, "Encoder preset."))] = None,
    crf: Annotated[str | None, typer.Option(
        metavar="N", help=_help(opt.CRF, "Constant quality, 0 (best) to 51 (smallest)."))] = None,
    display: Annotated[str | None, typer.Option(
        help=_help(opt.DISPLAY, "X display to grab; the screen device on macOS."))] = None,
    ffmpeg_path: Annotated[str | None, typer.Option(
        "--ffmpeg", metavar="PATH", help=_help(opt.FFMPEG, "The ffmpeg binary to use."))] = None,
    pipe_buffer: Annotated[str | None, typer.Option(
        metavar="SIZE", help=_help(opt.PIPE_BUFFER, f"Pipe buffer between ffmpeg and caprec, "
                                   f"{opt.PIPE_BUFFER_RANGE_TEXT}, e.g. 512KiB or 1MiB."))] = None,
    queue_size: Annotated[str | None, typer.Option(
        metavar="N", help=_help(opt.QUEUE_SIZE, f"Packets FFmpeg may queue per capture input "
                                f"(-thread_queue_size; FFmpeg 7+: per output too), {opt.QUEUE_SIZE_RANGE_TEXT}."))
    ] = None,
    cursor: Annotated[bool | None, typer.Option(
        "--cursor/--no-cursor", show_default=False,
        help=_help(opt.CURSOR, "Log mouse moves, clicks and scrolls to <output>.cursor.ndjson."))] = None,
    cursor_flush: Annotated[str | None, typer.Option(
        metavar="SECONDS", help=_help(opt.CURSOR_FLUSH, "Seconds between cursor log flushes."))] = None,
    output_dir: Annotated[str | None, typer.Option(
        metavar="DIR", help=_help(opt.OUTPUT_DIR, "Directory for the default-named output (not used with -o)."))
    ] = None,
    delay: Annotated[str | None, typer.Option(
        metavar="SECONDS", help=_help(opt.DELAY, "Count down this many seconds (0-3600) on stderr before "
                                      "recording; Ctrl-C during it cancels."))] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing output file "
                                            "(and its cursor log).")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")] = False,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Print the ffmpeg command, then each setting and where it came from (as # comments); "
                          "record and create nothing.")] = False,
    json_output: Annotated[bool, typer.Option(
        "--json", help="Print a JSON summary (schema caprec-summary/1) on stdout at the end; with -o - use "
                       "--summary-file.")] = False,
    summary_file: Annotated[Path | None, typer.Option(
        metavar="PATH", help="Write the JSON summary to PATH (replaced atomically).")] = None,
    stats_file: Annotated[Path | None, typer.Option(
        metavar="PATH", help="Keep live stats in PATH as JSON (caprec-stats/1), replaced atomically every "
                             "0.5 s; it ends with the final status.")] = None,
) -> None:
    """Record the screen (or a test pattern) to a crash-proof MP4."""
    env = Environment()
    reports = Reports(env=env, json_stdout=json_output, summary_file=summary_file, stats_file=stats_file,
                      output=output)

    def body() -> int:
        plan = resolve_plan(env=env, source=source, output=output, fps=fps, region=region, duration=duration,
                            codec=codec, preset=preset, crf=crf, display=display, ffmpeg_path=ffmpeg_path,
                            overwrite=overwrite, pipe_buffer=pipe_buffer, cursor=cursor,
                            cursor_flush=cursor_flush, output_dir=output_dir, delay=delay, quiet=quiet,
                            dry_run=dry_run, mode=mode, audio=audio, queue_size=queue_size)
        reports.check(to_stdout=plan.target.path is None, video=plan.target.path)
        console = error_console(env)
        if dry_run:
            env.stdout.write(dry_run_text(plan))
            return ExitStatus.OK
        stop = StopControl()
        pausable = plan.target.path is not None
        with stop_on_signals(stop, pausable=pausable):
            if not countdown(plan.delay, console=console, quiet=quiet, stop=stop):
                if reports.wanted:
                    reports.emit(empty_summary(status=STATUS_CANCELLED, exit_code=ExitStatus.INTERRUPTED,
                                               error=None))
                return ExitStatus.INTERRUPTED  # cancelled during --delay: nothing was created
            with pause_keys(stop, enabled=pausable):
                result = run_plan(plan, console=console, quiet=quiet, stop=stop, stats_file=reports.stats_file)
        if not quiet or result.error is not None:
            print_summary(console, result, cursor_path=plan.cursor.path if plan.cursor else None)
        if result.error is not None:
            console.print(f"error: {result.error}", markup=False, soft_wrap=True)
        code = exit_code(result, stop)
        if reports.wanted:
            reports.emit(result_summary(result, exit_code=code, to_stdout=plan.target.path is None,
                                        cursor_log=plan.cursor.path if plan.cursor else None))
        return code

    run_guarded(env, reports.guard(body))
