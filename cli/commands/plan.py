"""``caprec record``'s plan: settings (flags, variables, config file) resolved into a :class:`RecordPlan`.

Everything is checked here, before anything starts: paths, the encoder, the
audio inputs, the capture target and the cursor log.
"""

from __future__ import annotations

import os
import shlex
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from caprec.capture import __version__
from caprec.capture.cursor.format import CursorContext
from caprec.capture.cursor.format import Region as CursorRegion
from caprec.capture.cursor.shapes import SHAPES_DIR
from caprec.capture.errors import SettingError
from caprec.capture.ffmpeg.argv import (
    DEFAULT_TEST_SIZE,
    HARDWARE_CODECS,
    Audio,
    AudioTracks,
    Backend,
    Encoding,
    VideoSource,
)
from caprec.capture.ffmpeg.binary import FFmpegBinary
from caprec.capture.ffmpeg.encoders import encoder_presets, try_encoder
from caprec.capture.ffmpeg.finish import check_output_path
from caprec.capture.ffmpeg.probe_cache import ProbeCache
from caprec.capture.platform.audio_inputs import parse_audio_inputs, pulse_devices, with_queue_size
from caprec.capture.platform.displays import (
    DisplayInfo,
    DisplayReader,
    GeometryUnavailable,
    PointerArea,
    captured_display,
    display_reader,
    pointer_area,
)
from caprec.capture.platform.pulse import Pactl, check_sources
from caprec.capture.platform.screen import default_backend, default_screen_device, resolve_x11_display
from caprec.capture.record.framebudget import capped_queue_size
from caprec.capture.record.segment import Recorder, Target
from caprec.capture.record.spec import CURSOR_NAME, Mode, segment_files
from caprec.capture.record.spec import CursorSpec as CursorPlan
from caprec.capture.units import check_region_fits
from caprec.commands.outputs import (
    bundle_path,
    check_bundle_path,
    check_cursor_log,
    cursor_log_path,
    output_path,
)
from caprec.env import Environment
from caprec.settings import schema as opt
from caprec.settings.config import load_config
from caprec.settings.probes import Probes
from caprec.settings.schema import OriginKind, RawValue, ResolvedSettings
from caprec.settings.variables import check_variables

#: FFmpeg writes the video to caprec's pipe, which caprec writes to the output.
PIPE_OUTPUT = "pipe:1"
#: ddagrab, FFmpeg's Desktop Duplication source, arrived in FFmpeg 6.0.
DDAGRAB_MIN_MAJOR = 6


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


def plan_cursor(*, video: VideoSource, path: Path | None, screen: tuple[int, int] | None,
                flush: float, overwrite: bool, log: Path | None = None,
                pointer: PointerArea | None = None) -> CursorPlan | None:
    """The cursor log for a recording to ``path``, or None when it has none.

    ``flush`` is the flush interval in seconds (the resolved ``cursor_flush``
    setting). ``log`` is the log's path (default: beside ``path``, see
    :func:`cursor_log_path`; a studio bundle's ``cursor.ndjson``). ``pointer``
    places the video in pointer coordinates on macOS and Windows (see
    :func:`caprec.capture.platform.displays.pointer_area`); on X11 ``screen`` and the
    region do.
    """
    if path is None:
        return None
    log = cursor_log_path(path) if log is None else log
    check_cursor_log(log, overwrite=overwrite)
    region = video.region
    width, height = screen if screen is not None else (0, 0)
    if pointer is not None:
        return CursorPlan(path=log, context=CursorContext(
            caprec_version=__version__, source=str(video.backend),
            region=CursorRegion(x=pointer.x, y=pointer.y, width=pointer.width, height=pointer.height),
            screen_width=pointer.screen[0], screen_height=pointer.screen[1], unit=pointer.unit, scale=pointer.scale,
            fps=video.fps), flush_interval=flush)
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
        flush_interval=flush,
        # pynput watches $DISPLAY: the one being recorded (--display) must win.
        display=video.device if video.backend is Backend.X11GRAB else None,
        overwrite=overwrite,
    )


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
        check_cursor_log(log, overwrite=cursor.overwrite)
        cursor = replace(cursor, path=log)
    # The settings name the first capture's output: a retargeted plan has none to show.
    return replace(plan, target=replace(plan.target, path=path), cursor=cursor, settings=None)


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


def plan_argv(plan: RecordPlan, *, live_stats: bool = True) -> list[str]:
    """The FFmpeg command the recording of ``plan`` runs (its first segment's, in studio mode).

    ``live_stats`` False: for a recording whose live stats no one reads (see :meth:`Recorder.argv`).

    The video goes to caprec's pipe (``pipe:1``), which caprec writes to the
    output; in studio mode, each audio input and the camera go to their own
    files in the first segment (``audio.m4a``, ``audio-mic.m4a``,
    ``camera.mp4``). The queue size is on each capture input and, with
    FFmpeg 7+, on each output.
    """
    tracks = None
    if plan.bundle is not None:
        _, layout = segment_files(Mode.STUDIO, plan.bundle, 1, audio=plan.audio,
                                  camera=plan.source.camera is not None)
        tracks = None if layout is None else layout.tracks
    return Recorder(plan.ffmpeg).argv(plan.source, plan.encoding, audio=plan.audio, tracks=tracks,
                                      output_queue_size=plan.queue_size, live_stats=live_stats)


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
        path = bundle_path(settings)
        check_bundle_path(path)
    else:
        path = output_path(settings)
        if path is not None:
            check_output_path(path, overwrite=overwrite)
        elif not settings.get(opt.DRY_RUN) and fd_is_terminal(env.stdout_fd):
            raise SettingError(settings.culprit(opt.OUTPUT), "- writes binary video to stdout, which is a "
                               "terminal; pipe it (-o - | ffprobe -), redirect it (> talk.mp4) or give a file name")
    audio = _plan_audio(settings, queue_size=queue_size, studio=studio)
    ffmpeg_origin = settings.origin(opt.FFMPEG)
    probes = probes or Probes.for_environ(env.environ)
    binary = probes.ffmpeg(explicit=settings.get(opt.FFMPEG), explicit_origin=ffmpeg_origin.culprit)
    if codec not in binary.encoders:
        raise SettingError(settings.culprit(opt.CODEC), f"{codec} is not available in {binary.path} "
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
            check_ddagrab(binary, platform=platform, culprit=settings.culprit(opt.SOURCE), display=display,
                          display_culprit=settings.culprit(opt.DISPLAY))
        device = default_screen_device(backend)
        size = None
        if backend is Backend.X11GRAB:
            device = resolve_x11_display(display, env.environ)
            size = probes.screen_size(device)
            if region_value is not None and size is not None:
                check_region_fits(region_value, screen_width=size[0], screen_height=size[1],
                                  origin=settings.culprit(opt.REGION))
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
                                  origin=settings.culprit(opt.REGION))
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
            raise SettingError(settings.culprit(opt.PRESET),
                               f"{preset!r} is not a preset of {codec}; use one of {', '.join(presets)}")
    if codec in HARDWARE_CODECS and not settings.get(opt.DRY_RUN):
        why = try_encoder(binary.path, codec)
        if why is not None:
            raise SettingError(settings.culprit(opt.CODEC),
                               f"{codec} does not work on this machine ({why}); use libx264")


def _plan_audio(settings: ResolvedSettings, *, queue_size: int, studio: bool) -> Audio | None:
    """The audio inputs the ``audio`` setting names on this platform, with the queue size; None for none.

    Several inputs are mixed into one track, or kept one track each in a
    studio bundle. PulseAudio sources are checked against the running server.
    """
    text = settings.get(opt.AUDIO)
    if text is None:
        return None
    origin = settings.culprit(opt.AUDIO)
    audio = parse_audio_inputs([text], platform=sys.platform, origin=origin,
                               tracks=AudioTracks.SEPARATE if studio else AudioTracks.MIX)
    check_sources(pulse_devices(audio), origin=origin, pactl=Pactl())
    return with_queue_size(audio, queue_size)


def dry_run_text(plan: RecordPlan, *, live_stats: bool = True) -> str:
    """What ``--dry-run`` prints: the FFmpeg command, where its output goes, then every setting.

    ``live_stats``: whether the recording's live stats are read (see :func:`plan_argv`).

    Everything after the command is a ``#`` comment, so the text stays a
    valid shell script (``shlex.split(text, comments=True)`` is the argv).
    """
    lines = [shlex.join(plan_argv(plan, live_stats=live_stats))]
    bundle = plan.bundle
    if bundle is not None:
        video, layout = segment_files(Mode.STUDIO, bundle.absolute(), 1, audio=plan.audio,
                                      camera=plan.source.camera is not None)
        lines.append(f"# {PIPE_OUTPUT} -> {video} (the bundle is created when recording starts)")
        for _, audio in () if layout is None else layout.audio_named():
            lines.append(f"# audio -> {audio}")
        if layout is not None and layout.tracks.camera is not None:
            lines.append(f"# camera -> {layout.tracks.camera}")
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


def fd_is_terminal(fd: int) -> bool:
    """Whether ``fd`` is a terminal (False for a closed descriptor)."""
    try:
        return os.isatty(fd)
    except OSError:
        return False
