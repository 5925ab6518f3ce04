"""What a studio session writes in its bundle's ``recording.toml``: the document, segment by segment.

The session rewrites the manifest at the start, at each segment and at the
end (see :mod:`caprec.capture.studio.manifest` for the format's versions and the
atomic write).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from caprec.capture import __version__
from caprec.capture.ffmpeg.argv import Audio, VideoSource, describe_audio
from caprec.capture.record.segment import RecordingResult
from caprec.capture.studio.manifest import MANIFEST_FORMAT, MANIFEST_MINOR, MANIFEST_VERSION, utc_now
from caprec.capture.studio.tracks import input_names


@dataclass(frozen=True)
class SegmentInfo:
    """One segment: its files, where it starts on the recording's timeline, how long it is."""

    index: int
    video: Path | None
    audio: tuple[tuple[str, Path], ...]  # studio: (input name, file) of each audio file written
    start_s: float
    duration_s: float
    frames: int
    status: str
    camera: Path | None = None  # studio: the camera track


def bundle_document(root: Path, *, status: str, created: str, mode: str, source: VideoSource, codec: str,
                    audio: Audio | None, cursor: str | None, segments: Sequence[SegmentInfo],
                    error: str | None = None, result: RecordingResult | None = None) -> dict[str, Any]:
    """The manifest of the bundle at ``root``: the recording's settings, its ``segments`` and, at the end
    (``result``), its stats. ``cursor`` is the cursor log's name in the bundle (None: no log)."""
    one_audio = audio is not None and len(input_names(audio)) == 1
    document: dict[str, Any] = {
        "format": MANIFEST_FORMAT,
        "version": MANIFEST_VERSION,
        "minor_version": MANIFEST_MINOR,
        "caprec_version": __version__,
        "status": status,
        "created": created,
        "finished": None if status == "recording" else utc_now(),
        "error": error,
        "mode": mode,
        "source": str(source.backend),
        "fps": source.fps,
        "codec": codec,
        "region": None if source.region is None else str(source.region),
        "audio": None if audio is None else describe_audio(audio),
        "audio_inputs": None if audio is None else list(input_names(audio)),
        "camera": _camera_entry(source),
        "cursor": cursor,
        "segments": [_segment_entry(seg, root, one_audio=one_audio) for seg in segments],
    }
    if result is not None:
        events = result.cursor
        document["stats"] = {
            "frames": result.media.frames if result.media is not None else 0,
            "duration": round(result.media.duration_s, 6) if result.media is not None else 0.0,
            "dropped_frames": result.stats.progress.drop_frames,
            "bytes": result.stats.bytes,
            "cursor_events": None if events is None else events.events,
        }
    return document


def _relative(path: Path | None, root: Path) -> str | None:
    return None if path is None else path.relative_to(root).as_posix()


def _segment_entry(seg: SegmentInfo, root: Path, *, one_audio: bool) -> dict[str, Any]:
    """A ``[[segments]]`` table: one audio input as ``audio`` (as format 1.0 wrote it), several as
    ``[[segments.audio_tracks]]`` (``input``, ``file``; format 1.1)."""
    entry: dict[str, Any] = {"index": seg.index, "display": _relative(seg.video, root)}
    if one_audio:
        entry["audio"] = _relative(seg.audio[0][1], root) if seg.audio else None
    elif seg.audio:
        entry["audio_tracks"] = [{"input": name, "file": _relative(path, root)} for name, path in seg.audio]
    entry.update(camera=_relative(seg.camera, root), start=round(seg.start_s, 6),
                 duration=round(seg.duration_s, 6), frames=seg.frames, status=seg.status)
    return entry


def _camera_entry(source: VideoSource) -> dict[str, Any] | None:
    """The ``[camera]`` table: what recorded it, and where render draws it (the instant mode's corner and width)."""
    camera = source.camera
    if camera is None:
        return None
    return {"source": str(camera.backend) if not camera.device else f"{camera.backend}:{camera.device}",
            "corner": str(camera.corner), "width": camera.width}
