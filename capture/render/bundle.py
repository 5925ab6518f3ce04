"""Reading a studio bundle into a timeline: segments joined (pauses are cuts) and the cursor track.

The cursor log's times are already on the joined timeline (the writer
pauses with the video), so the track needs no shifting; the segments'
``start`` times in the manifest say where each file begins on it.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from caprec.capture.cursor.format import CursorFormatError
from caprec.capture.cursor.reader import read_cursor_log
from caprec.capture.cursor.shapes import SHAPE_SUFFIX, SHAPES_DIR, ShapeError, read_png_rgba
from caprec.capture.ffmpeg.argv import DEFAULT_CAMERA_WIDTH, Corner
from caprec.capture.ffmpeg.finish import ffmpeg_file_url
from caprec.capture.ffmpeg.process import run_tool
from caprec.capture.record.spec import CURSOR_NAME, MANIFEST_NAME
from caprec.capture.render.cursor_art import ShapeImage, ShapeTrack, shape_image
from caprec.capture.render.spec import RenderInputError
from caprec.capture.render.spring import CursorTrack
from caprec.capture.studio.manifest import ManifestError, read_manifest, segment_audio

_STREAM_SIZE = re.compile(r"Stream #\d+:\d+.*?: Video: .*?, (\d{2,5})x(\d{2,5})")
_STREAM_FPS = re.compile(r"Stream #\d+:\d+.*?: Video: .*?, ([\d.]+) fps")
_MS_PER_S = 1000.0


@dataclass(frozen=True)
class BundleSegment:
    """One recorded segment: its files and where it sits on the joined timeline."""

    index: int
    video: Path
    audio: tuple[Path, ...]  # one file per audio input (one file in a 1.0 bundle)
    start_s: float
    duration_s: float
    camera: Path | None = None


@dataclass(frozen=True)
class Bundle:
    """A studio bundle, read and checked: the video's size and rate, the segments, the cursor."""

    path: Path
    width: int
    height: int
    fps: float
    segments: tuple[BundleSegment, ...]
    track: CursorTrack
    warnings: tuple[str, ...]
    shapes: ShapeTrack | None = None
    camera: BundleCamera | None = None

    @property
    def duration_s(self) -> float:
        return sum(segment.duration_s for segment in self.segments)

    @property
    def has_audio(self) -> bool:
        return bool(self.segments) and all(segment.audio for segment in self.segments)

    @property
    def has_camera(self) -> bool:
        return self.camera is not None and bool(self.segments) and \
            all(segment.camera is not None for segment in self.segments)


@dataclass(frozen=True)
class BundleCamera:
    """The manifest's ``[camera]``: where the recording asked to draw the camera, in source pixels."""

    corner: Corner
    width: int


Prober = Callable[[Path], tuple[int, int, float]]


def probe_video(path: Path, *, ffmpeg_path: str) -> tuple[int, int, float]:
    """Width, height and frame rate of ``path``'s first video stream (from ``ffmpeg -i``'s banner)."""
    try:
        result = run_tool([ffmpeg_path, "-hide_banner", "-nostdin", "-i", ffmpeg_file_url(path)])
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RenderInputError("segments", f"cannot read {path}: {exc}") from None
    text = result.stderr.decode("utf-8", "replace")
    size = _STREAM_SIZE.search(text)
    if size is None:
        last = text.strip().splitlines()[-1] if text.strip() else "no video stream"
        raise RenderInputError("segments", f"{path} has no readable video ({last}); the bundle is damaged: "
                                           "try `caprec recover` on it")
    rate = _STREAM_FPS.search(text)
    return int(size.group(1)), int(size.group(2)), float(rate.group(1)) if rate else 30.0


def read_bundle(path: Path, *, ffmpeg_path: str, prober: Prober | None = None) -> Bundle:
    """Read ``path`` (a ``.caprec`` directory); raises :class:`RenderInputError` with a one-line reason.

    A torn or damaged cursor log is read as far as it parses; the
    ``warnings`` say what was skipped.
    """
    if not path.is_dir():
        raise RenderInputError("bundle", f"{path} is not a caprec studio bundle (not a directory); record one "
                                         "with `mode` studio")
    try:
        manifest = read_manifest(path / MANIFEST_NAME)
    except ManifestError as exc:
        raise RenderInputError("bundle", str(exc)) from None
    if manifest.get("status") == "recording":
        raise RenderInputError("bundle", f"{path} is still recording or was interrupted; run "
                                         f"`caprec recover {path}` first")
    try:
        segments = _segments(path, manifest)
    except ManifestError as exc:
        raise RenderInputError("bundle", str(exc)) from None
    probe = prober or (lambda video: probe_video(video, ffmpeg_path=ffmpeg_path))
    width, height, fps = probe(segments[0].video)
    manifest_fps = manifest.get("fps")
    if isinstance(manifest_fps, int | float) and manifest_fps > 0:
        fps = float(manifest_fps)
    warnings: list[str] = []
    shape_events: list[tuple[float, str, int, int]] = []
    track = _read_track(path / str(manifest.get("cursor") or CURSOR_NAME), width, height, warnings, shape_events)
    camera = _camera(manifest)
    if camera is not None and any(segment.camera is None for segment in segments):
        warnings.append("a segment lost its camera track: rendering without the camera")
    return Bundle(path=path, width=width, height=height, fps=fps, segments=segments, track=track,
                  warnings=tuple(warnings), shapes=_read_shapes(path / SHAPES_DIR, shape_events, warnings),
                  camera=camera)


def _camera(manifest: dict[str, object]) -> BundleCamera | None:
    """The ``[camera]`` table (1.1); a corner or width it does not know falls back to the defaults."""
    table = manifest.get("camera")
    if not isinstance(table, dict):
        return None
    try:
        corner = Corner(str(table.get("corner", Corner.BOTTOM_RIGHT)))
    except ValueError:
        corner = Corner.BOTTOM_RIGHT
    width = table.get("width")
    return BundleCamera(corner, width if isinstance(width, int) and width > 0 else DEFAULT_CAMERA_WIDTH)


def _segments(path: Path, manifest: dict[str, object]) -> tuple[BundleSegment, ...]:
    raw = manifest.get("segments")
    if not isinstance(raw, list) or not raw:
        raise RenderInputError("bundle", f"{path / MANIFEST_NAME} lists no segments; nothing to render")
    segments: list[BundleSegment] = []
    for entry in raw:
        if not isinstance(entry, dict):
            raise RenderInputError("bundle", f"{path / MANIFEST_NAME}: a [[segments]] entry is not a table")
        index = entry.get("index", len(segments) + 1)
        display, camera = entry.get("display"), entry.get("camera")
        duration, start = entry.get("duration"), entry.get("start")
        if not isinstance(display, str) or not isinstance(duration, int | float):
            raise RenderInputError("bundle", f"{path / MANIFEST_NAME}: segment {index} lacks display or duration")
        if duration <= 0:
            continue  # a segment that recorded nothing (stopped at once)
        video = _inside(path, display)
        if not video.is_file():
            raise RenderInputError("bundle", f"segment {index}'s video {video} is missing; the bundle is "
                                             "incomplete (restore the file or record again)")
        audio = tuple(_inside(path, file) for _, file in segment_audio(entry, where=str(path / MANIFEST_NAME)))
        for audio_path in audio:
            if not audio_path.is_file():
                raise RenderInputError("bundle", f"segment {index}'s audio {audio_path} is missing; the bundle is "
                                                 "incomplete (restore the file or record again)")
        camera_path = _inside(path, camera) if isinstance(camera, str) and camera else None
        begin = float(start) if isinstance(start, int | float) else sum(s.duration_s for s in segments)
        segments.append(BundleSegment(int(index) if isinstance(index, int) else len(segments) + 1, video,
                                      audio, begin, float(duration),
                                      camera_path if camera_path is not None and camera_path.is_file() else None))
    if not segments:
        raise RenderInputError("bundle", f"{path / MANIFEST_NAME}: every segment is empty; nothing to render")
    return tuple(segments)


def _inside(root: Path, relative: str) -> Path:
    """``root / relative``, refusing names that climb out of the bundle."""
    candidate = (root / relative).resolve()
    if not candidate.is_relative_to(root.resolve()):
        raise RenderInputError("bundle", f"{root / MANIFEST_NAME} names {relative!r}, outside the bundle")
    return root / relative


def _read_shapes(directory: Path, events: list[tuple[float, str, int, int]], warnings: list[str]
                 ) -> ShapeTrack | None:
    """The recorded pointer images the log's ``cursor`` events name (each read once); None without any."""
    if not events:
        return None
    images: dict[str, ShapeImage] = {}
    missing: set[str] = set()
    for _, shape, xhot, yhot in events:
        if shape in images or shape in missing:
            continue
        try:
            width, height, rgba = read_png_rgba((directory / f"{shape}{SHAPE_SUFFIX}").read_bytes())
        except (OSError, ShapeError) as exc:
            missing.add(shape)
            warnings.append(f"cursor image {shape} unusable ({exc}); drawing caprec's arrow instead")
            continue
        images[shape] = shape_image(width, height, rgba, xhot, yhot)
    return ShapeTrack(tuple(e[0] for e in events), tuple(e[1] for e in events), images)


def _read_track(log: Path, width: int, height: int, warnings: list[str],
                shapes: list[tuple[float, str, int, int]]) -> CursorTrack:
    """The cursor log as arrays in video pixels and seconds (empty when there is no log); shape
    changes (format 1.1 ``cursor`` events) go to ``shapes``."""
    empty = CursorTrack(np.zeros(0), np.zeros(0), np.zeros(0), (), ())
    if not log.is_file():
        warnings.append(f"no cursor log ({log.name}): rendering without a cursor")
        return empty
    try:
        parsed = read_cursor_log(log)
    except CursorFormatError as exc:
        warnings.append(f"cursor log unreadable ({exc}): rendering without a cursor")
        return empty
    warnings.extend(f"cursor log: {w}; rendering the events that parse" for w in parsed.warnings)
    times: list[float] = []
    xs: list[float] = []
    ys: list[float] = []
    presses: list[tuple[float, float, float]] = []
    holds: list[tuple[float, float]] = []
    held_since: dict[str, float] = {}
    for event in parsed.events:
        try:
            t = float(event["t"]) / _MS_PER_S
            x = float(event["nx"]) * width
            y = float(event["ny"]) * height
        except (KeyError, TypeError, ValueError):
            continue  # an event type from a newer minor version, or one without a position
        if event.get("type") == "cursor":
            shape, xhot, yhot = event.get("shape"), event.get("xhot"), event.get("yhot")
            if isinstance(shape, str) and shape.isalnum() and isinstance(xhot, int) and isinstance(yhot, int):
                shapes.append((t, shape, xhot, yhot))
            continue
        times.append(t)
        xs.append(x)
        ys.append(y)
        if event.get("type") == "click":
            button = str(event.get("button"))
            if event.get("pressed"):
                presses.append((t, x, y))
                held_since[button] = t
            elif button in held_since:
                holds.append((held_since.pop(button), t))
    holds.extend((start, float("inf")) for start in held_since.values())
    order = np.argsort(np.asarray(times), kind="stable")
    return CursorTrack(np.asarray(times)[order], np.asarray(xs)[order], np.asarray(ys)[order], tuple(presses),
                       tuple(sorted(holds)))
