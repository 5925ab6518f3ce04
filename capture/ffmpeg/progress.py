"""FFmpeg's stderr: ``-progress`` key=value blocks and its log lines.

caprec runs FFmpeg with ``-progress pipe:2 -nostats -loglevel level+info``:
progress blocks and log lines share stderr, which works the same on Windows
(no extra file descriptors to pass). A line is a progress line only if it is
``key=value`` with a key FFmpeg's progress writer uses; everything else is a
log line, kept in a bounded ring for error messages.
"""

from __future__ import annotations

import io
import re
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import IO

from caprec.capture.ffmpeg.audio_input import WALLCLOCK_AUDIO

LOG_RING_LINES = 64
# A wall-clock start (Unix time) is within this of our own clock.
WALLCLOCK_TOLERANCE_S = 120.0

_PROGRESS_KEY = re.compile(
    r"^(frame|fps|stream_\d+_\d+_q|bitrate|total_size|out_time_us|out_time_ms|out_time|"
    r"dup_frames|drop_frames|speed|progress)=(.*)$"
)
# "[x11grab @ 0x55d2] [error] Cannot open display :99, error 1."
_LOG_LINE = re.compile(r"^(?:\[(?P<ctx>[^\]]+)\] )?\[(?P<level>[a-z]+)\] (?P<msg>.*)$")
_INPUT_START = re.compile(r"^\s*Duration: .*?, start: (-?\d+(?:\.\d+)?)")
# "Input #0, pulse, from 'mic':" opens each input's dump, its Duration line follows.
_INPUT_HEADER = re.compile(r"^Input #\d+, (?P<format>[\w,]+), from ")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
# Levels worth showing to a user: FFmpeg's own names.
PROBLEM_LEVELS = frozenset({"warning", "error", "fatal", "panic"})
# Warnings FFmpeg prints about things caprec has settled: not a problem, not
# counted. The frame-rate guess is moot when the input runs at -framerate
# (gdigrab, avfoundation; x11grab is told -fpsprobesize 0).
HARMLESS_WARNINGS = ("not enough frames to estimate rate",)


@dataclass(frozen=True)
class FFmpegProgress:
    """One ``-progress`` block, typed. Unknown or ``N/A`` values are None."""

    frame: int = 0
    fps: float | None = None
    bitrate_kbps: float | None = None
    total_size: int | None = None
    out_time_s: float = 0.0
    dup_frames: int = 0
    drop_frames: int = 0
    speed: float | None = None
    ended: bool = False

    @classmethod
    def from_block(cls, block: dict[str, str]) -> FFmpegProgress:
        """Build from the raw key=value pairs of one block."""
        return cls(
            frame=_int(block.get("frame")) or 0,
            fps=_float(block.get("fps")),
            bitrate_kbps=_float(block.get("bitrate")),
            total_size=_int(block.get("total_size")),
            out_time_s=(_int(block.get("out_time_us")) or 0) / 1e6,
            dup_frames=_int(block.get("dup_frames")) or 0,
            drop_frames=_int(block.get("drop_frames")) or 0,
            speed=_float(block.get("speed")),
            ended=block.get("progress") == "end",
        )


def _float(raw: str | None) -> float | None:
    if raw is None:
        return None
    match = _NUMBER.search(raw)
    return float(match.group()) if match else None


def _int(raw: str | None) -> int | None:
    value = _float(raw)
    return None if value is None else int(value)


@dataclass(frozen=True)
class LogLine:
    """One FFmpeg log line with its level (``info``, ``warning``, ``error``...)."""

    level: str
    text: str


@dataclass
class StderrState:
    """What the reader has learned; read by other threads as whole values."""

    progress: FFmpegProgress = field(default_factory=FFmpegProgress)
    #: The first video input's ``start:`` (the first frame's wall clock for x11grab and gdigrab).
    input_start: float | None = None
    ring: deque[LogLine] = field(default_factory=lambda: deque(maxlen=LOG_RING_LINES))
    warnings: int = 0


class StderrReader:
    """Parses FFmpeg's stderr on a thread it owns (context manager: start, join).

    ``on_progress`` is called on the reader thread for each block,
    ``on_log`` for each log line at warning level or above.
    """

    def __init__(self, stream: IO[bytes], *,
                 on_progress: Callable[[FFmpegProgress], None] | None = None,
                 on_log: Callable[[LogLine], None] | None = None) -> None:
        self._stream = stream
        self._on_progress = on_progress
        self._on_log = on_log
        self.state = StderrState()
        self._input_format = ""  # the demuxer of the input whose dump is being read
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="caprec-ffmpeg-stderr", daemon=True)

    def _run(self) -> None:
        stream = self._stream
        if isinstance(stream, io.RawIOBase):
            # An unbuffered pipe yields lines one read() per byte; a buffered
            # reader still hands over each line as soon as it is complete.
            stream = io.BufferedReader(stream)
        self.feed(line.decode("utf-8", "replace") for line in stream)

    def feed(self, lines: Iterable[str]) -> None:
        """Parse ``lines`` (without threads: tests call this directly)."""
        block: dict[str, str] = {}
        for raw in lines:
            line = raw.rstrip("\r\n")
            match = _PROGRESS_KEY.match(line)
            if match is not None:
                key, value = match.groups()
                block[key] = value.strip()
                if key == "progress":
                    progress = FFmpegProgress.from_block(block)
                    self.state.progress = progress
                    block = {}
                    if self._on_progress is not None:
                        self._on_progress(progress)
                continue
            if line.strip():
                self._log(line)

    def _log(self, line: str) -> None:
        match = _LOG_LINE.match(line)
        level, text = ("info", line) if match is None else (match["level"], line)
        if match is not None:
            ctx = match["ctx"]
            text = f"[{ctx.split(' @ ')[0]}] {match['msg']}" if ctx else match["msg"]
        if (header := _INPUT_HEADER.match(text)) is not None:
            self._input_format = header["format"]
        # A wall-clock audio device opens before the screen (see WALLCLOCK_AUDIO): its start is not the video's.
        elif (self.state.input_start is None and self._input_format not in WALLCLOCK_AUDIO
              and (start := _INPUT_START.match(text)) is not None):
            self.state.input_start = float(start.group(1))
        if level == "info" or (level == "warning" and any(known in text for known in HARMLESS_WARNINGS)):
            return  # the input dump and encoder banner, settled questions: not worth the ring
        entry = LogLine(level=level, text=text.strip())
        with self._lock:
            self.state.ring.append(entry)
            if level in PROBLEM_LEVELS:
                self.state.warnings += 1
        if level in PROBLEM_LEVELS and self._on_log is not None:
            self._on_log(entry)

    def last_lines(self, count: int = 5, *, levels: frozenset[str] = PROBLEM_LEVELS) -> tuple[str, ...]:
        """FFmpeg's last ``count`` warning/error lines, oldest first."""
        with self._lock:
            lines = [entry.text for entry in self.state.ring if entry.level in levels]
        return tuple(lines[-count:])

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def __enter__(self) -> StderrReader:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.join()
