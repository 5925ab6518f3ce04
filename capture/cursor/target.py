"""Which cursor log a path names, and how long its recording is.

``caprec cursor summary`` takes what users have at hand: a cursor log
(``talk.cursor.ndjson``, beside ``talk.mp4``) or a studio bundle
(``talk.caprec``, whose manifest knows the log and the duration).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from caprec.capture.errors import CaptureError, OutputError
from caprec.capture.ffmpeg.process import run_tool
from caprec.capture.record.spec import MANIFEST_NAME
from caprec.capture.studio.manifest import read_manifest

CURSOR_LOG_SUFFIX = ".cursor.ndjson"
VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".m4v")
PROBE_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class CursorTarget:
    """A cursor log and its recording's duration in seconds (None when unknown)."""

    log: Path
    recording_s: float | None


def resolve_cursor_target(path: Path, *, ffprobe: str | None = None) -> CursorTarget:
    """The cursor log ``path`` names (itself, or a bundle's) and the recording's duration.

    A bundle's duration is its manifest's; a log's is the video's beside it
    (``talk.mp4`` for ``talk.cursor.ndjson``) read with ``ffprobe`` when one
    is available. Raises :class:`OutputError` for a path that names no log.
    """
    hint = "give a cursor log (*.cursor.ndjson) or a studio bundle (*.caprec)"
    if not path.exists():
        raise OutputError(f"{path} does not exist; {hint}")
    if path.is_dir():
        manifest = path / MANIFEST_NAME
        if not manifest.is_file():
            raise OutputError(f"{path} is a directory but not a studio bundle (no {MANIFEST_NAME}); {hint}")
        try:
            document = read_manifest(manifest)
        except CaptureError as exc:
            raise OutputError(f"{path}: {exc}") from None
        name = document.get("cursor")
        if not isinstance(name, str) or not (path / name).is_file():
            raise OutputError(f"the bundle {path} has no cursor log (recorded without one)")
        stats = document.get("stats")
        duration = stats.get("duration") if isinstance(stats, dict) else None
        if not isinstance(duration, int | float):
            segments = document.get("segments")
            total = [s.get("duration") for s in segments if isinstance(s, dict)] if isinstance(segments, list) else []
            duration = sum(d for d in total if isinstance(d, int | float)) if total else None
        return CursorTarget(log=path / name, recording_s=None if duration is None else float(duration))
    return CursorTarget(log=path, recording_s=_video_duration(path, ffprobe))


def _video_duration(log: Path, ffprobe: str | None) -> float | None:
    """The duration of the video a log was recorded beside, or None."""
    if not log.name.endswith(CURSOR_LOG_SUFFIX):
        return None
    stem = log.name[: -len(CURSOR_LOG_SUFFIX)]
    video = next((v for s in VIDEO_SUFFIXES if (v := log.with_name(stem + s)).is_file()), None)
    tool = ffprobe or shutil.which("ffprobe")
    if video is None or tool is None:
        return None
    try:
        result = run_tool([tool, "-v", "error", "-show_entries", "format=duration", "-of", "json",
                           f"file:{video.absolute()}"], timeout=PROBE_TIMEOUT_S)
        value = json.loads(result.stdout or b"{}").get("format", {}).get("duration")
        return float(value) if value is not None else None
    except (OSError, subprocess.TimeoutExpired, ValueError, AttributeError):
        return None
