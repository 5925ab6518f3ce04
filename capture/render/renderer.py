"""Rendering a bundle end to end: plan it, stream it, verify it, then put it in place atomically.

The output is written to a hidden sibling with a random name created with
``O_EXCL`` (never through a symlink), read back like a recording, and only
then given its name: by ``link`` (which refuses an existing name) or, when
overwriting is allowed, by ``rename`` (which replaces the directory entry,
not what a symlink there points at). A failed or interrupted render
leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import functools
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from caprec.capture.ffmpeg.argv import CAMERA_MARGIN
from caprec.capture.ffmpeg.finish import MediaCheck, verify_media
from caprec.capture.record.pump import DEFAULT_PIPE_BUFFER
from caprec.capture.render.bundle import Bundle, read_bundle
from caprec.capture.render.card import build_card, card_box
from caprec.capture.render.commands import CameraOverlay, SegmentInput, decode_argv, encode_argv, output_size
from caprec.capture.render.compose import CursorStyle, FrameComposer, Planes, frame_bytes
from caprec.capture.render.pipeline import Frame, PipelineProgress, PipelineStats, run_pipeline
from caprec.capture.render.spec import (
    DEFAULT_GIF_FPS,
    DEFAULT_GIF_WIDTH,
    GIF_FPS_RANGE,
    OutputFormat,
    RenderFailedError,
    RenderInputError,
    RenderSpec,
    Trim,
    ZoomMode,
    ZoomSegment,
)
from caprec.capture.render.spring import SmoothCursor
from caprec.capture.render.zoom import ZoomTrack, auto_segments, check_segments

NEW_FILE_MODE = 0o666
# The encoded file may hold a frame or two fewer than were sent (FFmpeg's
# rate conversion at the very end); more than this is a failure.
FRAME_SLACK = 2
# The camera picture stays visible in a small render (a GIF 480 wide).
MIN_CAMERA_WIDTH = 32


@dataclass(frozen=True)
class RenderPlan:
    """What a render will do: sizes, rate, frames, timeline and zoom segments."""

    spec: RenderSpec
    bundle: Bundle
    source_size: tuple[int, int]
    size: tuple[int, int]
    fps: float
    start_s: float
    duration_s: float
    frames: int
    zoom: tuple[ZoomSegment, ...]
    audio: bool

    @property
    def warnings(self) -> tuple[str, ...]:
        return self.bundle.warnings


@dataclass(frozen=True)
class RenderResult:
    """A finished render: where it is, what was read back, and the pipeline's timings."""

    path: Path
    media: MediaCheck
    stats: PipelineStats
    plan: RenderPlan


def plan_render(spec: RenderSpec, *, ffmpeg_path: str) -> RenderPlan:
    """Read the bundle and resolve everything; raises :class:`RenderInputError`. Creates nothing."""
    fmt = spec.format
    bundle = read_bundle(spec.bundle, ffmpeg_path=ffmpeg_path)
    _check_output(spec)
    source = (bundle.width - bundle.width % 2, bundle.height - bundle.height % 2)
    total = bundle.duration_s
    start, end = 0.0, total
    if spec.trim is not None:
        start, end = spec.trim.start, total if spec.trim.end is None else spec.trim.end
        if not 0.0 <= start < end or start >= total:
            raise RenderInputError("trim", f"trim {start:g}-{end:g} s is outside the recording (0-{total:.2f} s); "
                                           "give START-END within it")
        end = min(end, total)
    fps = spec.fps if spec.fps is not None else (DEFAULT_GIF_FPS if fmt is OutputFormat.GIF else bundle.fps)
    if fmt is OutputFormat.GIF and not GIF_FPS_RANGE[0] <= fps <= GIF_FPS_RANGE[1]:
        raise RenderInputError("fps", f"a GIF plays at {GIF_FPS_RANGE[0]:g} to {GIF_FPS_RANGE[1]:g} fps, "
                                      f"not {fps:g}")
    size = output_size(source, width=spec.width, height=spec.height,
                       default_width=DEFAULT_GIF_WIDTH if fmt is OutputFormat.GIF else None)
    if spec.zoom is ZoomMode.AUTO:
        zoom = auto_segments(bundle.track, total, scale=spec.zoom_scale)
    elif spec.zoom is ZoomMode.FILE:
        zoom = spec.zoom_segments
        check_segments(zoom, total, source=spec.zoom_source or "edit list")
    else:
        zoom = ()
    if spec.card is not None:
        card_box(size, source, spec.card.padding)  # refuse a padding that leaves no room, before rendering
    duration = end - start
    return RenderPlan(spec=spec, bundle=bundle, source_size=source, size=size, fps=fps, start_s=start,
                      duration_s=duration, frames=max(1, round(duration * fps)), zoom=zoom,
                      audio=bundle.has_audio and fmt is not OutputFormat.GIF)


def _check_output(spec: RenderSpec) -> None:
    output = spec.output
    if os.path.lexists(output):
        if output.is_dir() and not output.is_symlink():
            raise RenderInputError("output", f"{output} is a directory; give a file name such as "
                                             f"{output / ('render' + output.suffix)}")
        if not spec.overwrite:
            raise RenderInputError("output", f"{output} already exists; pass `overwrite` or choose another name")
    parent = output.absolute().parent
    if not parent.is_dir():
        raise RenderInputError("output", f"directory {parent} does not exist; "
                                         "create it first or choose another `output`")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise RenderInputError("output", f"directory {parent} is not writable; choose another `output`")
    if spec.bundle.absolute() in (output.absolute(), *output.absolute().parents):
        raise RenderInputError("output", f"{output} is inside the bundle; write the render beside it")


@contextlib.contextmanager
def _temp_sibling(path: Path, tag: str) -> Iterator[Path]:
    """A fresh hidden file beside ``path``: random name, ``O_EXCL``, no symlink followed; removed at the end."""
    temp = path.with_name(f".{path.name}.{tag}-{uuid.uuid4().hex[:12]}{path.suffix}")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    ours: Path | None = temp
    try:
        # Created inside the try: a Ctrl-C that lands just after the create still removes it.
        try:
            os.close(os.open(temp, flags, NEW_FILE_MODE))
        except FileExistsError:
            ours = None  # someone else's file: never removed
            raise
        yield temp
    finally:
        if ours is not None:
            with contextlib.suppress(FileNotFoundError):
                ours.unlink()


def _put_in_place(temp: Path, output: Path, *, overwrite: bool) -> None:
    if overwrite:
        os.replace(temp, output)  # replaces the entry itself, even when it is a symlink
        return
    try:
        os.link(temp, output)  # fails if the name appeared meanwhile: never clobber
    except FileExistsError:
        raise RenderInputError("output", f"{output} appeared while rendering; nothing was overwritten "
                                         "(pass `overwrite` to replace it)") from None
    except OSError:
        # No hard links here (some filesystems): check, then rename.
        if os.path.lexists(output):
            raise RenderInputError("output", f"{output} appeared while rendering; nothing was overwritten") from None
        os.replace(temp, output)
        return
    temp.unlink()


def _composer(plan: RenderPlan) -> FrameComposer:
    spec, bundle = plan.spec, plan.bundle
    return FrameComposer(source_size=plan.source_size, output_size=plan.size, track=bundle.track,
                         cursor=SmoothCursor(bundle.track, spec.smoothing),
                         zoom=ZoomTrack(plan.zoom, *plan.source_size),
                         style=CursorStyle(size=spec.cursor_size, clicks=spec.clicks, hide_idle_s=spec.hide_idle_s),
                         card=None if spec.card is None else build_card(spec.card, output=plan.size,
                                                                         source=plan.source_size),
                         shapes=bundle.shapes if spec.recorded_shapes else None)


def _compose_fn(plan: RenderPlan) -> Callable[[int, Frame, Frame], None]:
    """A fresh composer (springs at rest) as the pipeline's per-frame callback."""
    composer = _composer(plan)
    (sw, sh), (ow, oh) = plan.source_size, plan.size

    def compose(index: int, source: Frame, out: Frame) -> None:
        composer.compose(plan.start_s + index / plan.fps, Planes.of(source, sw, sh), Planes.of(out, ow, oh))

    return compose


def camera_overlay(plan: RenderPlan) -> CameraOverlay | None:
    """The bundle's camera as the render draws it: the recording's width and margin scaled to the output
    (the picture keeps its share of the frame), in the recorded corner; None without a camera track."""
    camera = plan.bundle.camera
    if camera is None or not plan.bundle.has_camera:
        return None
    ratio = plan.size[0] / plan.source_size[0]
    width = max(MIN_CAMERA_WIDTH, round(camera.width * ratio / 2) * 2)
    return CameraOverlay(width=width, corner=camera.corner, margin=round(CAMERA_MARGIN * ratio))


def render(plan: RenderPlan, *, ffmpeg_path: str, on_progress: Callable[[PipelineProgress], None] | None = None,
           pipe_size: int = DEFAULT_PIPE_BUFFER) -> RenderResult:
    """Render ``plan`` into ``plan.spec.output``; raises :class:`RenderFailedError` (nothing is left behind)."""
    spec = plan.spec
    fmt = spec.format
    segments = [SegmentInput(s.video, s.audio, s.duration_s, s.camera) for s in plan.bundle.segments]
    trim = Trim(plan.start_s, plan.start_s + plan.duration_s) if spec.trim is not None else None
    decode = decode_argv(ffmpeg_path=ffmpeg_path, segments=segments, size=plan.source_size, fps=plan.fps,
                         trim=trim)
    in_size, out_size = frame_bytes(*plan.source_size), frame_bytes(*plan.size)
    with _temp_sibling(spec.output, "render") as temp:
        encoder = functools.partial(encode_argv, ffmpeg_path=ffmpeg_path, fmt=fmt, size=plan.size, fps=plan.fps,
                                    crf=spec.crf, preset=spec.preset, camera=camera_overlay(plan),
                                    segments=segments)
        if fmt is OutputFormat.GIF:
            # Two passes of the same deterministic render: a palette, then the GIF (memory stays flat).
            with _temp_sibling(spec.output.with_suffix(".png"), "palette") as palette:
                run_pipeline(decode=decode, encode=encoder(destination=palette),
                             in_size=in_size, out_size=out_size, compose=_compose_fn(plan), pipe_size=pipe_size)
                stats = run_pipeline(decode=decode,
                                     encode=encoder(destination=temp, palette=palette),
                                     in_size=in_size, out_size=out_size, compose=_compose_fn(plan),
                                     on_progress=on_progress, pipe_size=pipe_size)
        else:
            audio = segments if plan.audio else []
            stats = run_pipeline(decode=decode, encode=encoder(destination=temp, audio=audio, trim=trim),
                                 in_size=in_size, out_size=out_size, compose=_compose_fn(plan),
                                 on_progress=on_progress, pipe_size=pipe_size)
        media = verify_media(temp, ffmpeg_path=ffmpeg_path)
        if not media.playable or media.frames < stats.frames - FRAME_SLACK:
            raise RenderFailedError(f"the rendered file holds {media.frames} of {stats.frames} frames; "
                                    "it was not saved")
        _put_in_place(temp, spec.output, overwrite=spec.overwrite)
    return RenderResult(path=spec.output, media=media, stats=stats, plan=plan)
