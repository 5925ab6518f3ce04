"""What a recording session records, and where its files go: the session's typed spec.

Kept apart from :mod:`caprec.capture.record.session` (which runs one) so that
a caller that only describes a recording (the command line's settings, a
batch plan, recovery, rendering) does not import the machinery that records.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from caprec.capture.cursor.format import CursorContext
from caprec.capture.ffmpeg.argv import Audio, Encoding, VideoSource
from caprec.capture.studio.tracks import SegmentLayout, segment_layout

if TYPE_CHECKING:
    from caprec.capture.cursor.writer import CursorStats


class Mode(enum.StrEnum):
    """``instant``: one shareable MP4, pointer drawn in. ``studio``: a bundle
    directory with separate tracks per segment, pointer hidden, for editing."""

    INSTANT = "instant"
    STUDIO = "studio"


STUDIO_SUFFIX = ".caprec"
MANIFEST_NAME = "recording.toml"
CURSOR_NAME = "cursor.ndjson"
SEGMENTS_DIR = "segments"
PART_FORMAT = "{stem}.part-{index}{suffix}"


class CursorRecorder(Protocol):
    """The cursor sidecar as the session drives it (caprec.capture.cursor.listener.CursorSidecar)."""

    def start(self) -> None: ...
    def stop(self) -> CursorStats: ...
    def stats(self) -> CursorStats: ...
    def set_origin(self, *, monotonic: float, wall: float) -> None: ...
    def pause(self) -> None: ...
    def resume(self, *, offset_ms: float) -> None: ...


@dataclass(frozen=True)
class CursorSpec:
    """Where and how the cursor log is written."""

    path: Path
    context: CursorContext
    flush_interval: float
    display: str | None = None  # the X display whose pointer is logged (None: the process's $DISPLAY)
    overwrite: bool = False  # replace an existing log (its directory entry); else an existing one is refused
    shapes_dir: Path | None = None  # studio on X11: the bundle's cursors/ (caprec.capture.cursor.shapes)


@dataclass(frozen=True)
class SessionSpec:
    """Everything a session records, resolved and validated by the caller.

    ``output`` is the MP4 (instant) or the bundle directory (studio); None
    with ``fd`` streams an instant recording (no pause) to that descriptor.
    ``encoding.duration`` is the recorded time wanted, pauses excluded.
    """

    mode: Mode
    source: VideoSource
    encoding: Encoding
    output: Path | None
    fd: int | None = None
    overwrite: bool = False
    audio: Audio | None = None
    queue_size: int | None = None
    cursor: CursorSpec | None = None


def segment_files(mode: Mode, output: Path, index: int, *, audio: Audio | None,
                  camera: bool = False) -> tuple[Path, SegmentLayout | None]:
    """Where segment ``index`` (from 1) of a recording to ``output`` goes: its video, and in studio mode
    the layout of its tracks (an audio file per input, the camera). Instant mode muxes everything into
    the video."""
    if mode is Mode.INSTANT:
        return (output if index == 1 else part_path(output, index)), None
    layout = segment_layout(output / SEGMENTS_DIR / str(index), audio=audio, camera=camera)
    return layout.display, layout


def part_path(output: Path, index: int) -> Path:
    """``talk.mp4`` -> ``talk.part-2.mp4``: where instant segment ``index`` (>= 2) is recorded."""
    return output.with_name(PART_FORMAT.format(stem=output.stem, index=index, suffix=output.suffix))
