"""What a recording reports: where it goes (:class:`Target`), live stats, and the result with its status."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from caprec.capture.errors import CaptureError
from caprec.capture.ffmpeg.finish import MediaCheck
from caprec.capture.ffmpeg.progress import FFmpegProgress
from caprec.capture.record.pump import PumpSink


class Status(enum.StrEnum):
    """How a recording ended."""

    COMPLETE = "complete"
    INTERRUPTED = "interrupted"  # stopped fast: the file plays, not remuxed
    FAILED = "failed"

    @classmethod
    def of(cls, *, error: CaptureError | None, fast: bool) -> Status:
        """Failed if anything failed, else interrupted by a fast stop, else complete."""
        if error is not None:
            return cls.FAILED
        return cls.INTERRUPTED if fast else cls.COMPLETE


@dataclass(frozen=True)
class Target:
    """Where the video goes: a file (``path``), an open descriptor (``fd``, for ``-o -``),
    or a sink of its own (``sink``: the replay buffer's ring)."""

    path: Path | None = None
    fd: int | None = None
    overwrite: bool = False
    sink: PumpSink | None = None


@dataclass(frozen=True)
class RecordingStats:
    """A live snapshot of a recording, for displays and stats files."""

    elapsed_s: float
    target_fps: float
    duration_s: float | None
    progress: FFmpegProgress
    bytes: int
    pipe_size: int | None
    pipe_high_water: int
    chunk_size: int
    warnings: int
    last_warning: str | None
    started: bool  # the first frame has arrived: the recording is live (reported at once, see Recorder)
    cursor: Any = None
    paused: bool = False
    segment: int = 1
    stalled_s: float = 0.0  # how long the current stall has lasted (0: frames are coming)
    stall_total_s: float = 0.0  # every stall so far, the current one included
    stalls: int = 0  # how many stalls so far, the current one included


@dataclass(frozen=True)
class RecordingResult:
    """What a recording left and how it ended."""

    status: Status
    stop_reason: str
    path: Path | None
    argv: list[str]
    stats: RecordingStats
    media: MediaCheck | None
    remuxed: bool
    notes: list[str] = field(default_factory=list)
    error: CaptureError | None = None
    cursor: Any = None
    ffmpeg_returncode: int | None = None
    segments: tuple[Any, ...] = ()
