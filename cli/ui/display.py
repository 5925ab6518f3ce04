"""What a person sees while recording: a rich live panel, or plain lines.

On a terminal a live panel of fixed height shows the recording's stats; rich
redraws it on its own thread at most :data:`LIVE_REFRESH_PER_SECOND` times a
second, so the redraw rate is bounded however often the recorder (stats) and
FFmpeg's stderr reader (warnings) call in, and callbacks never wait on the
terminal. When stderr is not a terminal (a log file, CI) a plain line is
printed every few seconds instead. Everything human-facing goes to stderr,
so ``-o -`` can stream the video on stdout. The displays that draw nothing
(quiet, tee, tally, deferred) are in :mod:`caprec.ui.feeds`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from caprec.capture.record.segment import RecordingResult, RecordingStats, Status, StopControl
from caprec.capture.units import format_bytes, format_duration
from caprec.ui.feeds import Display, QuietDisplay, WarningTally
from caprec.ui.panel import LABEL_STYLE, DropWindow, StatsView, ViewState, drop_warning, next_state, stats_line

if TYPE_CHECKING:
    from rich.console import Console
    from rich.live import Live
    from rich.progress import TaskID

LIVE_REFRESH_PER_SECOND = 4
PLAIN_INTERVAL_S = 5.0


def _live(console: Console, renderable: Any) -> Live:
    # rich's Live, Progress and Table are imported only by the panels that use them: a batch imports this
    # module before FFmpeg starts, and with --quiet or a plain log it never needs them.
    from rich.live import Live

    # Not redirecting stdout: `--json` prints there, and `-o -` streams the video.
    return Live(renderable, console=console, refresh_per_second=LIVE_REFRESH_PER_SECOND, auto_refresh=True,
                transient=True, redirect_stdout=False, redirect_stderr=False)


@dataclass(frozen=True)
class PanelOptions:
    """What the live panel of one recording shows besides the stats."""

    stop: StopControl | None = None
    pausable: bool = False
    cursor: bool = False
    verbose: bool = False


class LiveDisplay:
    """The live panel on a terminal."""

    def __init__(self, console: Console, *, view: StatsView | None = None,
                 options: PanelOptions = PanelOptions()) -> None:
        self.view = view or StatsView(stop=options.stop, pausable=options.pausable, cursor=options.cursor,
                                      verbose=options.verbose)
        self._live = _live(console, self.view)

    def __enter__(self) -> LiveDisplay:
        self._live.__enter__()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._live.__exit__(None, None, None)

    def update(self, stats: RecordingStats) -> None:
        self.view.update(stats)

    def warn(self, text: str) -> None:
        self.view.warn(text)


class PlainDisplay:
    """A plain stats line every few seconds, for logs and pipes.

    Warnings are printed as they come, except that one repeated (a blocking
    queue warns again and again) is printed once per interval; the dropped
    frames warning is printed when the ratio rises above the threshold.
    """

    def __init__(self, console: Console, *, clock: Callable[[], float] = time.monotonic,
                 prefix: str = "recording ", interval: float = PLAIN_INTERVAL_S) -> None:
        self._console = console
        self._clock = clock
        self._prefix = prefix
        self._interval = interval
        self._next: float | None = None
        self._window = DropWindow()
        self._dropping = False
        self._last_warning: tuple[str, float] | None = None
        self._lock = threading.Lock()
        self._state = ViewState()

    def __enter__(self) -> PlainDisplay:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def update(self, stats: RecordingStats) -> None:
        if not stats.started:
            return
        now = self._clock()
        self._state = next_state(self._state, stats)
        self._window.add(stats.elapsed_s, stats.progress.frame, stats.progress.drop_frames)
        warning = drop_warning(self._window.ratio(), self._window.window_s)
        if warning is not None and not self._dropping:
            self._print(f"warning: {warning}")
        self._dropping = warning is not None
        if self._next is None:
            # The first line one interval in: FFmpeg's first block (1 frame, a wild bitrate) says little.
            self._next = now + self._interval
        elif now >= self._next:
            self._print(self._prefix + stats_line(stats, elapsed_s=self._state.shown_s,
                                                  settled=StatsView.settled(self._state)))
            self._next = now + self._interval

    def warn(self, text: str) -> None:
        now = self._clock()
        with self._lock:
            last = self._last_warning
            if last is not None and last[0] == text and now - last[1] < self._interval:
                return
            self._last_warning = (text, now)
        self._print(f"warning: {text}")

    def _print(self, line: str) -> None:
        self._console.print(line, highlight=False, markup=False, soft_wrap=True)


def make_display(console: Console, *, quiet: bool, options: PanelOptions = PanelOptions()) -> Display:
    """The display for one recording: quiet, live on a terminal, plain otherwise."""
    if quiet:
        return QuietDisplay()
    if console.is_terminal:
        return LiveDisplay(console, options=options)
    return PlainDisplay(console)


class BatchDisplay(Protocol):
    """Shows a batch: which capture of how many, and the current one's live stats."""

    def __enter__(self) -> BatchDisplay: ...
    def __exit__(self, *exc_info: object) -> None: ...
    def begin(self, position: int, label: str, *, delay: float = 0.0) -> Display: ...
    def end(self, position: int, line: str) -> None: ...


class _BatchCapture:
    """The live display of one capture inside a batch's Live (which stays up between captures)."""

    def __init__(self, batch: LiveBatchDisplay, position: int) -> None:
        self._batch = batch
        self._position = position

    def __enter__(self) -> _BatchCapture:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def update(self, stats: RecordingStats) -> None:
        self._batch.view.update(stats)
        done = min(1.0, stats.elapsed_s / stats.duration_s) if stats.duration_s and stats.started else 0.0
        self._batch.advance(self._position - 1 + done)

    def warn(self, text: str) -> None:
        self._batch.view.warn(text)


class LiveBatchDisplay:
    """One rich Live for the whole batch: a progress bar over captures and the current capture's panel."""

    def __init__(self, console: Console, *, total: int, options: PanelOptions = PanelOptions()) -> None:
        from rich.console import Group
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self._console = console
        self.total = total
        self.view = StatsView(stop=options.stop, pausable=options.pausable, cursor=options.cursor,
                              verbose=options.verbose)
        self._progress = Progress(
            TextColumn("capture {task.fields[position]}/{task.total:.0f}", style="bold"),
            BarColumn(bar_width=None),
            TextColumn("{task.description}", style=LABEL_STYLE),
            TimeElapsedColumn(),
            console=console, auto_refresh=False, expand=True,
        )
        self._task: TaskID = self._progress.add_task("", total=total, position=1)
        self._live = _live(console, Group(self._progress, self.view))

    def __enter__(self) -> LiveBatchDisplay:
        self._live.__enter__()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._live.__exit__(None, None, None)

    def begin(self, position: int, label: str, *, delay: float = 0.0) -> Display:
        self.view.reset()
        if delay > 0:
            self.view.wait(delay)
        self._progress.update(self._task, description=label, position=position, completed=position - 1)
        return _BatchCapture(self, position)

    def advance(self, completed: float) -> None:
        self._progress.update(self._task, completed=completed)

    def end(self, position: int, line: str) -> None:
        self._progress.update(self._task, completed=position)
        # Printed above the live panel: it stays in the scrollback.
        self._console.print(line, highlight=False, markup=False, soft_wrap=True)


class PlainBatchDisplay:
    """A batch in a log: a line per capture start and end, and the plain stats lines between."""

    def __init__(self, console: Console, *, total: int) -> None:
        self._console = console
        self.total = total

    def __enter__(self) -> PlainBatchDisplay:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def begin(self, position: int, label: str, *, delay: float = 0.0) -> Display:
        wait = f" in {delay:g} s" if delay > 0 else ""
        self._console.print(f"capture {position}/{self.total}: {label}: starting{wait}", highlight=False,
                            markup=False, soft_wrap=True)
        return PlainDisplay(self._console, prefix=f"capture {position}/{self.total}: ")

    def end(self, position: int, line: str) -> None:
        self._console.print(line, highlight=False, markup=False, soft_wrap=True)


class QuietBatchDisplay:
    """A batch with --quiet: nothing but errors."""

    def __enter__(self) -> QuietBatchDisplay:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def begin(self, position: int, label: str, *, delay: float = 0.0) -> Display:
        return QuietDisplay()

    def end(self, position: int, line: str) -> None:
        return None


def make_batch_display(console: Console, *, quiet: bool, total: int,
                       options: PanelOptions = PanelOptions()) -> BatchDisplay:
    """The display for a batch of ``total`` captures."""
    if quiet:
        return QuietBatchDisplay()
    if console.is_terminal:
        return LiveBatchDisplay(console, total=total, options=options)
    return PlainBatchDisplay(console, total=total)


def print_summary(console: Console, result: RecordingResult, *, cursor_path: Path | None = None,
                  warnings: WarningTally | None = None) -> None:
    """The end-of-recording summary: where the file is and what is in it.

    ``warnings`` (what the live display was told) replaces FFmpeg's own count,
    so that the panel and the summary agree.
    """
    media = result.media
    stats = result.stats
    where = str(result.path) if result.path is not None else "stdout"
    duration = media.duration_s if media is not None else stats.progress.out_time_s
    frames = media.frames if media is not None else stats.progress.frame
    word = {Status.COMPLETE: "saved", Status.INTERRUPTED: "saved (stopped fast)", Status.FAILED: "kept"}[result.status]
    bitrate = f"  bitrate {stats.bytes * 8 / duration / 1000:.0f} kb/s" if duration > 0 else ""

    def say(text: str) -> None:
        console.print(text, highlight=False, markup=False, soft_wrap=True)

    say(f"{word}: {where}")
    # Two short lines, not one that an 80-column terminal breaks mid-word.
    say(f"  duration {format_duration(duration)}  frames {frames}  size {format_bytes(stats.bytes)}{bitrate}")
    say(f"  dropped {stats.progress.drop_frames}  dup {stats.progress.dup_frames}")
    cursor = result.cursor
    if cursor is not None:
        say(f"  cursor: {cursor.events} events (moves {cursor.moves}, clicks {cursor.clicks}, "
            f"scrolls {cursor.scrolls}) in {cursor_path}")
    if stats.stalls:
        say(f"  stalled {stats.stalls} time{'s' if stats.stalls != 1 else ''}, {stats.stall_total_s:.1f} s in all "
            "(no new frame from ffmpeg): the video holds a frozen picture there")
    count, last = (warnings.count, warnings.last) if warnings is not None else (stats.warnings, stats.last_warning)
    if count:
        say(f"  {count} warning{'s' if count != 1 else ''}; last: {last}")
    for note in result.notes:
        say(f"  note: {note}")
