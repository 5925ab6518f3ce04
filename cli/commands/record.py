"""``caprec record``: one recording from the shell."""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from capture import __version__
from capture.cursor.format import CursorContext
from capture.cursor.format import Region as CursorRegion
from capture.cursor.listener import CursorSidecar
from capture.cursor.shapes import SHAPES_DIR, ShapeSidecar
from capture.cursor.writer import DEFAULT_FLUSH_INTERVAL, CursorWriter
from capture.errors import CaptureError, OutputError, SettingError
from capture.ffmpeg.argv import (
    CONTAINERS,
    DEFAULT_TEST_SIZE,
    HARDWARE_CODECS,
    SUPPORTED_CODECS,
    Audio,
    AudioTracks,
    Backend,
    Encoding,
    VideoSource,
)
from capture.ffmpeg.binary import FFmpegBinary
from capture.ffmpeg.encoders import encoder_presets, try_encoder
from capture.ffmpeg.finish import check_output_path, default_output_name
from capture.ffmpeg.probe_cache import ProbeCache
from capture.files.tempfiles import NAME_MAX
from capture.platform.audio_inputs import parse_audio_inputs, pulse_devices, with_queue_size
from capture.platform.displays import (
    DisplayInfo,
    DisplayReader,
    GeometryUnavailable,
    PointerArea,
    captured_display,
    display_reader,
    pointer_area,
)
from capture.platform.pulse import Pactl, check_sources
from capture.platform.screen import default_backend, default_screen_device, resolve_x11_display
from capture.record.framebudget import capped_queue_size
from capture.record.segment import Recorder, RecordingResult, Status, StopControl, Target
from capture.record.session import (
    CURSOR_NAME,
    STUDIO_SUFFIX,
    CursorRecorder,
    Mode,
    Session,
    SessionSpec,
    segment_files,
)
from capture.record.session import CursorSpec as CursorPlan
from capture.units import check_region_fits
from cli.boundary import error_console, run_guarded
from cli.commands.targets import TargetFlags, apply_targets, check_combinations
from cli.env import Environment
from cli.exit import ExitStatus, exit_status_for
from cli.settings import schema as opt
from cli.settings.config import load_config
from cli.settings.probes import Probes
from cli.settings.schema import MAX_CURSOR_FLUSH_S as MAX_CURSOR_FLUSH_S
from cli.settings.schema import MIN_CURSOR_FLUSH_S as MIN_CURSOR_FLUSH_S
from cli.settings.schema import SOURCES as SOURCES
from cli.settings.schema import OriginKind, RawValue, ResolvedSettings, Setting
from cli.settings.variables import (
    SCRIPT_JSON,
    SCRIPT_STATS_FILE,
    SCRIPT_SUMMARY_FILE,
    ScriptVariable,
    check_variables,
    script_options,
)
from cli.ui.countdown import countdown
from cli.ui.display import Display, PanelOptions, TeeDisplay, WarningTally, make_display, print_summary
from cli.ui.keys import pause_keys
from cli.ui.reports import STATUS_CANCELLED, Reports, StatsFileWriter, empty_summary, result_summary

CURSOR_SUFFIX = ".cursor.ndjson"
#: Appended to an output name without an extension.
DEFAULT_VIDEO_SUFFIX = ".mp4"
#: Names that say "a media file": in studio mode ``-o talk.mp4`` is refused, not made a directory.
MEDIA_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".mkv", ".webm", ".m4a", ".mp3", ".wav", ".aac"})
#: FFmpeg writes the video to caprec's pipe, which caprec writes to the output.
PIPE_OUTPUT = "pipe:1"
PAUSE_SIGNAL = getattr(signal, "SIGUSR1", None)
HANGUP_SIGNAL = getattr(signal, "SIGHUP", None)
#: ddagrab, FFmpeg's Desktop Duplication source, arrived in FFmpeg 6.0.
DDAGRAB_MIN_MAJOR = 6
# SIGBREAK: Ctrl-Break on Windows, which otherwise ends caprec at once (FFmpeg's file unfinished).
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGBREAK")
                     if hasattr(signal, name))

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
    audio: Audio | None = None
    queue_size: int = opt.DEFAULT_QUEUE_SIZE_INSTANT
    #: Facts the user should know before recording (no cursor log possible, a capped queue).
    notes: tuple[str, ...] = ()

    @property
    def bundle(self) -> Path | None:
        """The studio bundle directory (``target.path``; created when recording starts), None in instant mode."""
        return self.target.path if self.mode is Mode.STUDIO else None


def cursor_log_path(video: Path) -> Path:
    """``talk.mp4`` -> ``talk.cursor.ndjson`` beside it."""
    return video.with_name(video.stem + CURSOR_SUFFIX)


def plan_cursor(*, video: VideoSource, path: Path | None, screen: tuple[int, int] | None,
                flush: str | float | None, overwrite: bool, log: Path | None = None,
                pointer: PointerArea | None = None) -> CursorPlan | None:
    """The cursor log for a recording to ``path``, or None when it has none.

    ``flush`` is the flush interval: text (checked as ``--cursor-flush``) or
    seconds. ``log`` is the log's path (default: beside ``path``, see
    :func:`cursor_log_path`; a studio bundle's ``cursor.ndjson``). ``pointer``
    places the video in pointer coordinates on macOS and Windows (see
    :func:`capture.platform.displays.pointer_area`); on X11 ``screen`` and the
    region do.
    """
    if flush is None:
        interval = DEFAULT_FLUSH_INTERVAL
    else:
        interval = parse_flush_interval(flush) if isinstance(flush, str) else flush
    if path is None:
        return None
    log = cursor_log_path(path) if log is None else log
    _check_cursor_log(log, overwrite=overwrite)
    region = video.region
    width, height = screen if screen is not None else (0, 0)
    if pointer is not None:
        return CursorPlan(path=log, context=CursorContext(
            caprec_version=__version__, source=str(video.backend),
            region=CursorRegion(x=pointer.x, y=pointer.y, width=pointer.width, height=pointer.height),
            screen_width=pointer.screen[0], screen_height=pointer.screen[1], unit=pointer.unit, scale=pointer.scale,
            fps=video.fps), flush_interval=interval)
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
        overwrite=overwrite,
    )


def _check_cursor_log(log: Path, *, overwrite: bool) -> None:
    size = len(os.fsencode(log.name))
    if size > NAME_MAX:
        raise OutputError(f"the cursor log's name {log.name[:40]}... would be {size} bytes; file systems take at "
                          f"most {NAME_MAX}: choose a shorter -o or pass --no-cursor")
    if os.path.lexists(log) and not overwrite:
        raise OutputError(f"{log} already exists; pass --overwrite or choose another -o")


def retarget(plan: RecordPlan, path: Path) -> RecordPlan:
    """``plan`` (instant mode, to a file) recording to ``path`` instead, its output and cursor log checked.

    A batch resolves each distinct capture once and retargets it for each
    output; raises :class:`OutputError` like :func:`resolve_plan`.
    """
    if plan.mode is not Mode.INSTANT or plan.target.path is None:
        raise ValueError("only an instant recording to a file can be retargeted")
    check_output_path(path, overwrite=plan.target.overwrite)
    cursor = plan.cursor
    if cursor is not None:
        log = cursor_log_path(path)
        _check_cursor_log(log, overwrite=cursor.overwrite)
        cursor = replace(cursor, path=log)
    # The settings name the first capture's output: a retargeted plan has none to show.
    return replace(plan, target=replace(plan.target, path=path), cursor=cursor, settings=None)


def parse_flush_interval(text: str) -> float:
    """``--cursor-flush`` seconds (see :func:`cli.settings.schema.parse_cursor_flush`)."""
    return opt.parse_cursor_flush(text, "--cursor-flush")


def _flag(value: RawValue | None) -> RawValue | None:
    """A flag-only switch counts as given only when it is on."""
    return value if value else None


def resolve_settings_for(*, env: Environment, flags: dict[str, RawValue | None],
                         config: opt.ConfigValues | None = None) -> ResolvedSettings:
    """Every record setting: flag > environment variable > config file > default.

    The config file is read (and checked as a whole) unless ``config`` is given.
    """
    check_variables(env.environ)
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
                 config: opt.ConfigValues | None = None, probes: Probes | None = None,
                 platform: str = sys.platform, displays: DisplayReader | None = None) -> RecordPlan:
    """Resolve and validate every option and find ffmpeg; raises a CaptureError naming the culprit.

    ``probes`` remembers ffmpeg and screen probes across calls (a batch plan).

    Arguments are the command-line values, None when not given; the rest
    comes from CAPREC_* variables, the config file, then the defaults. The
    mode is resolved first: it picks the per-mode variables and defaults of
    ``queue_size`` and ``pipe_buffer``. ``platform`` and ``displays`` (the
    display geometry reader) default to this machine's.
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
    return plan_from_settings(env=env, settings=settings, probes=probes, platform=platform, displays=displays)


def _culprit(settings: ResolvedSettings, setting: Setting[Any]) -> str:
    return settings.origin(setting).culprit


def _output_path(settings: ResolvedSettings) -> Path | None:
    """The output file: ``-o`` as given, else a default name in ``output_dir``; None for stdout."""
    output = settings.get(opt.OUTPUT)
    if output == "-":
        return None
    if output:
        return video_name(output)
    return _output_dir(settings) / default_output_name()


def video_name(output: str) -> Path:
    """``-o`` as a video file: its extension picks the container; none gets ``.mp4``; another is refused."""
    path = Path(output)
    if path.name in ("", ".", ".."):
        raise SettingError("--output", f"{output!r} names no file; give a name such as talk.mp4")
    suffix = path.suffix.lower()
    if os.path.lexists(path) or output.endswith(os.sep):
        # Something is there (a directory, /dev/null, a file): not a name to complete. The output check
        # refuses it, or --overwrite replaces that file.
        return path
    if not suffix:
        return path.with_name(path.name + DEFAULT_VIDEO_SUFFIX)
    if suffix not in CONTAINERS:
        raise SettingError("--output", f"{path.name}: caprec writes {', '.join(CONTAINERS)}; choose one of "
                                       f"these extensions (none: {DEFAULT_VIDEO_SUFFIX} is appended)")
    return path


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


def plan_from_settings(*, env: Environment, settings: ResolvedSettings, probes: Probes | None = None,
                       platform: str = sys.platform, displays: DisplayReader | None = None) -> RecordPlan:
    """The plan for resolved ``settings``: check the output, find ffmpeg, size the screen.

    Creates nothing: a studio bundle is only checked (the session creates it
    when recording starts). On macOS and Windows ``displays`` (default: the
    platform's reader) places the video in pointer coordinates for the
    cursor log; when it cannot, the log is off, a note says why and the
    pointer stays drawn in the video, studio mode included.
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
        elif not settings.get(opt.DRY_RUN) and _isatty(env.stdout_fd):
            raise SettingError(_culprit(settings, opt.OUTPUT), "- writes binary video to stdout, which is a "
                               "terminal; pipe it (-o - | ffprobe -), redirect it (> talk.mp4) or give a file name")
    audio = _plan_audio(settings, queue_size=queue_size, studio=studio)
    ffmpeg_origin = settings.origin(opt.FFMPEG)
    probes = probes or Probes.for_environ(env.environ)
    binary = probes.ffmpeg(explicit=settings.get(opt.FFMPEG), explicit_origin=ffmpeg_origin.culprit,
                           environ=env.environ)
    if codec not in binary.encoders:
        raise SettingError(_culprit(settings, opt.CODEC), f"{codec} is not available in {binary.path} "
                                                          f"({binary.version}); use libx264 or an ffmpeg built with it")
    probes.once(("encoder", binary.path, codec, settings.get(opt.PRESET), settings.get(opt.DRY_RUN)),
                lambda: check_encoder(settings, binary, cache=probes.cache))
    if source == "test":
        if region_value is not None and settings.origin(opt.REGION).kind is OriginKind.FLAG:
            raise SettingError("--region", "the test source has no screen to crop; drop --region")
        # A region from a variable or the config file is a screen default: not for the test pattern.
        region_value = None
        video = VideoSource(backend=Backend.LAVFI, fps=fps_value, device=DEFAULT_TEST_SIZE, queue_size=queue_size)
        size: tuple[int, int] | None = None
    else:
        display = settings.get(opt.DISPLAY)
        backend = Backend.DDAGRAB if source == "ddagrab" else default_backend(platform)
        if backend is Backend.DDAGRAB:
            check_ddagrab(binary, platform=platform, culprit=_culprit(settings, opt.SOURCE), display=display,
                          display_culprit=_culprit(settings, opt.DISPLAY))
        device = default_screen_device(backend)
        size = None
        if backend is Backend.X11GRAB:
            device = resolve_x11_display(display, env.environ)
            size = probes.screen_size(device)
            if region_value is not None and size is not None:
                check_region_fits(region_value, screen_width=size[0], screen_height=size[1],
                                  origin=_culprit(settings, opt.REGION))
        elif display is not None:
            device = display
        video = VideoSource(backend=backend, fps=fps_value, device=device, region=region_value,
                            queue_size=queue_size)
    # Instant mode draws the pointer into the video: the log is opt-in (--cursor or the config), not a file
    # beside every recording. Studio hides it, so the bundle keeps the log (of the screen: the test
    # pattern has no pointer) unless told not to.
    cursor = settings.get(opt.CURSOR)
    wants_cursor = cursor if cursor is not None else studio and source != "test"
    log = path / CURSOR_NAME if studio and path is not None else None
    notes: list[str] = []
    pointer = None
    if video.backend not in (Backend.LAVFI, Backend.X11GRAB):
        try:
            geometry = (displays or display_reader(platform))()
            video = replace(video, queue_size=_budget_queue(settings, video, geometry, notes))
            shown = captured_display(backend=video.backend, device=video.device, displays=geometry)
            if video.region is not None and shown is not None:
                check_region_fits(video.region, screen_width=shown.pixel_width, screen_height=shown.pixel_height,
                                  origin=_culprit(settings, opt.REGION))
            if wants_cursor:
                pointer = pointer_area(backend=video.backend, device=video.device, region=video.region,
                                    displays=geometry)
        except GeometryUnavailable as exc:
            if wants_cursor:
                notes.append(f"no cursor log: the pointer cannot be placed in the video ({exc}); "
                             "the pointer stays drawn in the video")
    cursor_plan = plan_cursor(video=video, path=path, screen=size, flush=settings.get(opt.CURSOR_FLUSH),
                              overwrite=overwrite, log=log, pointer=pointer) if wants_cursor else None
    if wants_cursor and cursor_plan is None and not notes and path is not None:
        notes.append("no cursor log: the screen size is unknown; the pointer stays drawn in the video")
    # Studio hides the pointer from the video only when the cursor log carries it, for the editor to draw.
    video = replace(video, draw_mouse=not (studio and cursor_plan is not None))
    if cursor_plan is not None and log is not None and path is not None and video.backend is Backend.X11GRAB:
        cursor_plan = replace(cursor_plan, shapes_dir=path / SHAPES_DIR)  # the real pointer images, for render
    queue_size = video.queue_size if video.queue_size is not None else queue_size
    encoding = Encoding(codec=codec, preset=settings.get(opt.PRESET), crf=settings.get(opt.CRF),
                        duration=settings.get(opt.DURATION))
    return RecordPlan(ffmpeg=binary, source=video, cursor=cursor_plan, encoding=encoding,
                      target=Target(path=path, fd=env.stdout_fd if path is None else None,
                                    overwrite=overwrite and not studio),
                      pipe_buffer=settings.get(opt.PIPE_BUFFER), delay=settings.get(opt.DELAY), settings=settings,
                      mode=mode, audio=audio, queue_size=queue_size, notes=tuple(notes))


def check_ddagrab(binary: FFmpegBinary, *, platform: str, culprit: str, display: str | None,
                  display_culprit: str) -> None:
    """Refuse ddagrab where it cannot run: off Windows, with FFmpeg before 6.0, or a non-numeric output."""
    if platform != "win32":
        raise SettingError(culprit, "ddagrab (Desktop Duplication) exists only on Windows; use --source screen")
    if binary.major is not None and binary.major < DDAGRAB_MIN_MAJOR:
        raise SettingError(culprit, f"ddagrab needs FFmpeg {DDAGRAB_MIN_MAJOR}.0 or later, but {binary.path} is "
                                    f"{binary.version}; use --source screen (gdigrab) or a newer ffmpeg (--ffmpeg)")
    if display is not None and not display.isdigit():
        raise SettingError(display_culprit, f"{display!r} is not a ddagrab output; give a monitor index: 0, 1, ...")


def _budget_queue(settings: ResolvedSettings, video: VideoSource, geometry: list[DisplayInfo],
                  notes: list[str]) -> int:
    """The default queue size, capped so that a queue of big (Retina, 5K) frames fits the memory budget."""
    queue_size = video.queue_size if video.queue_size is not None else settings.get(opt.QUEUE_SIZE)
    if settings.origin(opt.QUEUE_SIZE).kind is not OriginKind.DEFAULT:
        return queue_size  # the user's own number is kept
    capped = capped_queue_size(queue_size, backend=video.backend, device=video.device, displays=geometry,
                               region=video.region)
    if capped.reason is not None:
        notes.append(capped.reason)
    return capped.size


def check_encoder(settings: ResolvedSettings, binary: FFmpegBinary, *, cache: ProbeCache | None = None) -> None:
    """Refuse a preset the encoder does not know and a hardware encoder that cannot open here, before recording.

    A hardware encoder is tried on one tiny frame (not with ``--dry-run``):
    without its GPU or driver it fails with the real reason (``Cannot load
    libcuda.so.1``), not later as a failure of the capture device.
    """
    codec = settings.get(opt.CODEC)
    preset = settings.get(opt.PRESET)
    if preset is not None:
        presets = encoder_presets(binary.path, codec, cache=cache)
        if presets and preset not in presets:
            raise SettingError(_culprit(settings, opt.PRESET),
                               f"{preset!r} is not a preset of {codec}; use one of {', '.join(presets)}")
    if codec in HARDWARE_CODECS and not settings.get(opt.DRY_RUN):
        why = try_encoder(binary.path, codec)
        if why is not None:
            raise SettingError(_culprit(settings, opt.CODEC),
                               f"{codec} does not work on this machine ({why}); use libx264")


def _plan_audio(settings: ResolvedSettings, *, queue_size: int, studio: bool) -> Audio | None:
    """The audio inputs the ``audio`` setting names on this platform, with the queue size; None for none.

    Several inputs are mixed into one track, or kept one track each in a
    studio bundle. PulseAudio sources are checked against the running server.
    """
    text = settings.get(opt.AUDIO)
    if text is None:
        return None
    origin = _culprit(settings, opt.AUDIO)
    audio = parse_audio_inputs([text], platform=sys.platform, origin=origin,
                               tracks=AudioTracks.SEPARATE if studio else AudioTracks.MIX)
    check_sources(pulse_devices(audio), origin=origin, pactl=Pactl())
    return with_queue_size(audio, queue_size)


def make_sidecar(plan: CursorPlan, warn: Callable[[str], None]) -> CursorRecorder:
    """The cursor sidecar for ``plan`` (the session starts and stops it).

    A write error (a full disk) is reported once through ``warn``; the
    recording goes on and the events wait for the next flush.
    """
    if plan.overwrite:
        # Replace the directory entry (a symlink is removed, never followed); without
        # --overwrite a log that appeared since planning is refused by the writer.
        plan.path.unlink(missing_ok=True)
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
             display: Display | None = None, stats_file: Path | None = None, verbose: bool = False,
             warnings: WarningTally | None = None) -> RecordingResult:
    """Record ``plan`` with a live display; a recording that never started leaves no cursor log.

    ``display`` replaces the one made for ``console`` (a batch shows its own);
    ``stats_file`` is kept current while recording and ends with the final status;
    ``warnings`` counts what the display is told; ``verbose`` adds the internals to the panel.
    """
    session = Session(Recorder(plan.ffmpeg, pipe_buffer=plan.pipe_buffer), cursor_factory=make_sidecar)
    options = PanelOptions(stop=stop, pausable=plan.target.path is not None, cursor=plan.cursor is not None,
                           verbose=verbose)
    shown = display if display is not None else make_display(console, quiet=quiet, options=options)
    video = str(plan.target.path.absolute()) if plan.target.path is not None else "-"
    stats = None if stats_file is None else StatsFileWriter(stats_file, video=video, on_error=shown.warn)
    extra = (*(() if stats is None else (stats,)), *(() if warnings is None else (warnings,)))
    try:
        with TeeDisplay(shown, *extra) as both:
            result = session.run(session_spec(plan), stop=stop, on_stats=both.update, on_warning=both.warn)
    except CaptureError as exc:
        if plan.cursor is not None and plan.mode is Mode.INSTANT and not isinstance(exc, OutputError):
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
    terminals = [fd for fd in (1, 2) if _isatty(fd)]

    def handler(signum: int, frame: object) -> None:
        if signum == HANGUP_SIGNAL:
            _detach(terminals)
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


def _isatty(fd: int) -> bool:
    try:
        return os.isatty(fd)
    except OSError:
        return False


def _detach(fds: list[int]) -> None:
    """The terminal hung up (its window closed): send what would go to it to /dev/null.

    Writes to a hung-up terminal fail with EIO; the recording must still
    finish its file and its summary file, and exit with its code.
    """
    try:
        null = os.open(os.devnull, os.O_WRONLY)
    except OSError:
        return
    for fd in fds:
        with contextlib.suppress(OSError):
            os.dup2(null, fd)
    os.close(null)


def exit_code(result: RecordingResult, stop: StopControl) -> ExitStatus:
    if result.error is not None:
        return exit_status_for(result.error)
    if result.status is Status.INTERRUPTED:
        return ExitStatus.INTERRUPTED
    if stop.requested and result.stop_reason == "user" and result.stats.duration_s is not None:
        return ExitStatus.INTERRUPTED  # ended before the --duration it was asked for
    return ExitStatus.OK


def _reraise(exc: CaptureError) -> int:
    raise exc


def _script_help(variable: ScriptVariable, text: str) -> str:
    return f"{text} Env: ${variable.name}."


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
    lines += [f"# note: {note}" for note in plan.notes]
    # Where a default is a description ("PATH, then imageio-ffmpeg"), show what it resolved to.
    resolved = {
        opt.OUTPUT.key: "-" if plan.target.path is None else str(plan.target.path),
        opt.FFMPEG.key: f"{plan.ffmpeg.path} ({plan.ffmpeg.version})",
        opt.CURSOR.key: "on" if plan.cursor is not None else "off",
    }
    if plan.source.backend is Backend.AVFOUNDATION:
        resolved[opt.DISPLAY.key] = plan.source.device  # not $DISPLAY: the screen's name
    for entry in plan.settings or ():
        key = entry.setting.key
        shown = resolved[key] if key in resolved else entry.setting.format(entry.value)
        lines.append(f"# {key} = {shown}  ({entry.origin})")
    return "\n".join(lines) + "\n"


def _complete_sources(incomplete: str) -> list[str]:
    # ddagrab exists only on Windows: offer it there only.
    offered = [name for name in opt.SOURCES if name != "ddagrab" or sys.platform == "win32"]
    return [name for name in offered if name.startswith(incomplete)]


def _complete_codecs(incomplete: str) -> list[str]:
    return [name for name in sorted(SUPPORTED_CODECS) if name.startswith(incomplete)]


def _complete_modes(incomplete: str) -> list[str]:
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
        help="Draw a camera in a corner: /dev/video0 (Linux), an avfoundation index "
             "(macOS), a DirectShow name (Windows), or test.")] = None,
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
            from cli.commands.replay import record_replay  # imports this module: not at the top

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
        console = error_console(env)
        plan = apply_targets(plan, targets, say=lambda text: console.print(text, markup=False, soft_wrap=True))
        reports.check(to_stdout=plan.target.path is None, video=plan.target.path)
        if not quiet and not dry_run:
            for note in plan.notes:
                console.print(f"note: {note}", markup=False, soft_wrap=True)
        if dry_run:
            env.stdout.write(dry_run_text(plan))
            return ExitStatus.OK
        stop = StopControl()
        tally = WarningTally()
        pausable = plan.target.path is not None
        with stop_on_signals(stop, pausable=pausable):
            if not countdown(plan.delay, console=console, quiet=quiet, stop=stop):
                if reports.wanted:
                    reports.emit(empty_summary(status=STATUS_CANCELLED, exit_code=ExitStatus.INTERRUPTED,
                                               error=None))
                return ExitStatus.INTERRUPTED  # cancelled during --delay: nothing was created
            with pause_keys(stop, enabled=pausable):
                result = run_plan(plan, console=console, quiet=quiet, stop=stop, stats_file=reports.stats_file,
                                  verbose=verbose, warnings=tally)
        if not quiet or result.error is not None:
            print_summary(console, result, cursor_path=plan.cursor.path if plan.cursor else None,
                          warnings=tally)
        if result.error is not None:
            console.print(f"error: {result.error}", markup=False, soft_wrap=True)
        code = exit_code(result, stop)
        if reports.wanted:
            reports.emit(result_summary(result, exit_code=code, to_stdout=plan.target.path is None,
                                        cursor_log=plan.cursor.path if plan.cursor else None))
        return code

    run_guarded(env, reports.guard(body))
