"""What a person sees while recording: a rich live line, or plain lines.

On a terminal the live line refreshes at most 4 times a second; when stderr
is not a terminal (a log file, CI) a plain line is printed every few seconds
instead. Everything human-facing goes to stderr, so ``-o -`` can stream the
video on stdout.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from rich.console import Console
from rich.live import Live
from rich.text import Text

from capture.recorder import RecordingResult, RecordingStats, Status
from capture.units import format_bytes, format_duration

LIVE_REFRESH_PER_SECOND = 4
PLAIN_INTERVAL_S = 5.0


class Display(Protocol):
    """Receives a recording's live stats and warnings."""

    def __enter__(self) -> Display: ...
    def __exit__(self, *exc_info: object) -> None: ...
    def update(self, stats: RecordingStats) -> None: ...
    def warn(self, text: str) -> None: ...


def stats_line(stats: RecordingStats) -> str:
    """One line of live stats, the same text for the live and the plain display."""
    progress = stats.progress
    fps = f"{progress.fps:.1f}" if progress.fps else "-"
    parts = [
        format_duration(stats.elapsed_s) + (f"/{format_duration(stats.duration_s)}" if stats.duration_s else ""),
        f"frames {progress.frame}",
        f"fps {fps}/{stats.target_fps:g}",
        f"size {format_bytes(stats.bytes)}",
        f"drops {progress.drop_frames}",
    ]
    cursor = stats.cursor
    if cursor is not None:
        parts.append(f"cursor {cursor.events}")
    return "  ".join(parts)


class LiveDisplay:
    """A rich live line on a terminal."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._text = Text("starting ffmpeg...")
        self._live = Live(self._text, console=console, refresh_per_second=LIVE_REFRESH_PER_SECOND,
                          transient=True)

    def __enter__(self) -> LiveDisplay:
        self._live.__enter__()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._live.__exit__(None, None, None)

    def update(self, stats: RecordingStats) -> None:
        line = Text("● REC ", style="bold red")
        line.append(stats_line(stats))
        self._live.update(line)

    def warn(self, text: str) -> None:
        self._console.print(f"[yellow]ffmpeg:[/] {text}", highlight=False, markup=True)


class PlainDisplay:
    """A plain stats line every few seconds, for logs and pipes."""

    def __init__(self, console: Console, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._console = console
        self._clock = clock
        self._next = 0.0

    def __enter__(self) -> PlainDisplay:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def update(self, stats: RecordingStats) -> None:
        now = self._clock()
        if stats.started and now >= self._next:
            self._console.print("recording " + stats_line(stats), highlight=False, markup=False)
            self._next = now + PLAIN_INTERVAL_S

    def warn(self, text: str) -> None:
        self._console.print(f"ffmpeg: {text}", highlight=False, markup=False)


class QuietDisplay:
    """Nothing but errors (--quiet)."""

    def __enter__(self) -> QuietDisplay:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def update(self, stats: RecordingStats) -> None:
        return None

    def warn(self, text: str) -> None:
        return None


def make_display(console: Console, *, quiet: bool) -> Display:
    if quiet:
        return QuietDisplay()
    if console.is_terminal:
        return LiveDisplay(console)
    return PlainDisplay(console)


def print_summary(console: Console, result: RecordingResult, *, cursor_path: Path | None = None) -> None:
    """The end-of-recording summary: where the file is and what is in it."""
    media = result.media
    stats = result.stats
    where = str(result.path) if result.path is not None else "stdout"
    duration = media.duration_s if media is not None else stats.progress.out_time_s
    frames = media.frames if media is not None else stats.progress.frame
    word = {Status.COMPLETE: "saved", Status.INTERRUPTED: "saved (stopped fast)", Status.FAILED: "kept"}[result.status]
    console.print(f"{word}: {where}", highlight=False, markup=False)
    console.print(
        f"  duration {format_duration(duration)}  frames {frames}  size {format_bytes(stats.bytes)}  "
        f"dropped {stats.progress.drop_frames}", highlight=False, markup=False)
    cursor = result.cursor
    if cursor is not None:
        console.print(
            f"  cursor: {cursor.events} events (moves {cursor.moves}, clicks {cursor.clicks}, "
            f"scrolls {cursor.scrolls}) in {cursor_path}", highlight=False, markup=False)
    for note in result.notes:
        console.print(f"  note: {note}", highlight=False, markup=False)
