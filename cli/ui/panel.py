"""The live panel's view: what one stats snapshot looks like (rows, bars, warnings) and the plain stats line.

:class:`StatsView` renders; the displays in :mod:`caprec.ui.display` decide when
and where (a live region, plain lines every few seconds, or nothing).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from caprec.capture.record.segment import RecordingStats, StopControl
from caprec.capture.units import format_bytes, format_duration
from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Text

# More than this share of frames dropped over the window is worth a warning.
DROP_WARN_RATIO = 0.01
DROP_WINDOW_S = 5.0
# Stats arrive 4 times a second: 5 s is 20 snapshots. The cap bounds memory
# even if a caller sent them far more often.
DROP_WINDOW_MAX_SNAPSHOTS = 64
# An FFmpeg warning stays on the live panel this long after the last one.
WARNING_HOLD_S = 10.0
CELL_GAP = "  "
# From this width each kind of stats gets its own row(s); below, cells flow.
ROWS_MIN_WIDTH = 60
BAR_MIN_WIDTH = 10
BAR_MAX_WIDTH = 40
# Fixed widths for numbers, so the panel does not jump as they grow.
FRAMES_WIDTH = 6
SIZE_WIDTH = 10
BITRATE_WIDTH = 6
# FFmpeg's rates (fps, bitrate, speed) are averages since the run of frames
# began: over its first second they read 0.0 fps, tens of Mb/s, 0.01x.
SETTLE_S = 1.0
REC_STYLE = "bold red"
PAUSED_STYLE = "bold yellow"
LABEL_STYLE = "dim"
VALUE_STYLE = "bold"
WARN_STYLE = "bold yellow"
STOP_STYLE = "bold"
BAR_DONE_STYLE = "bar.complete"
BAR_BACK_STYLE = "bar.back"


class DropWindow:
    """The share of frames dropped over the last few seconds, from stats snapshots.

    Keeps the snapshots of the window plus one just before it (the baseline),
    never more than ``max_snapshots``: memory does not grow with the
    recording. Time is the recording's own elapsed time, so tests need no clock.
    """

    def __init__(self, *, window_s: float = DROP_WINDOW_S, max_snapshots: int = DROP_WINDOW_MAX_SNAPSHOTS) -> None:
        self.window_s = window_s
        self._points: deque[tuple[float, int, int]] = deque(maxlen=max_snapshots)

    def __len__(self) -> int:
        return len(self._points)

    def add(self, elapsed_s: float, frames: int, drops: int) -> None:
        if self._points and elapsed_s < self._points[-1][0]:
            self._points.clear()  # a new recording (batch): start over
        self._points.append((elapsed_s, frames, drops))
        horizon = elapsed_s - self.window_s
        while len(self._points) > 2 and self._points[1][0] <= horizon:
            self._points.popleft()

    def ratio(self) -> float | None:
        """Dropped / (written + dropped) over the window; None before two snapshots."""
        if len(self._points) < 2:
            return None
        _, frames0, drops0 = self._points[0]
        _, frames1, drops1 = self._points[-1]
        drops = max(0, drops1 - drops0)
        total = max(0, frames1 - frames0) + drops
        return drops / total if total else 0.0


@dataclass(frozen=True)
class ViewState:
    """Everything the panel shows, replaced whole so a render never sees half an update."""

    stats: RecordingStats | None = None
    drop_ratio: float | None = None
    warning: str | None = None
    warning_at: float = 0.0
    warning_count: int = 0
    starts_at: float | None = None
    # The time shown: it never goes back and never passes the duration.
    shown_s: float = 0.0
    # The first frame has been captured: REC from then on, "starting..." before.
    recording: bool = False
    # Where the current run of frames began (a resume starts a new one), for settled rates.
    run_segment: int = 0
    run_paused: bool = True
    run_since_s: float = 0.0


def first_frame_seen(stats: RecordingStats) -> bool:
    """True once the recording holds a frame: the engine's signal when it has one, else FFmpeg's frame count."""
    signal = getattr(stats, "first_frame", None)
    if isinstance(signal, bool):
        return signal
    return stats.started and stats.progress.frame > 0


def next_state(state: ViewState, stats: RecordingStats) -> ViewState:
    """The view after ``stats``: the shown time kept monotonic and capped, the current run tracked."""
    recording = state.recording or first_frame_seen(stats)
    shown = max(state.shown_s, stats.elapsed_s) if recording else 0.0
    if stats.duration_s is not None:
        shown = min(shown, stats.duration_s)
    run_segment, run_paused, run_since = state.run_segment, state.run_paused, state.run_since_s
    if recording and (stats.segment != run_segment or stats.paused != run_paused):
        # A run starts at the recording's start, or where the pause that ends with it began.
        before = state.stats
        resumed = before is not None and before.paused and not stats.paused
        run_since = before.elapsed_s if resumed and before is not None else 0.0
        run_segment, run_paused = stats.segment, stats.paused
    return dataclasses.replace(state, stats=stats, starts_at=None, shown_s=shown, recording=recording,
                               run_segment=run_segment, run_paused=run_paused, run_since_s=run_since)


def _cell(label: str, value: str, *, width: int = 0) -> Text:
    # Styles as spans, not the Text's base style: the value must not inherit the label's.
    return Text.assemble((label + " ", LABEL_STYLE), (value.rjust(width), VALUE_STYLE))


def _pack(cells: Iterable[Text], width: int) -> list[Text]:
    """Cells on as few lines of ``width`` as fit, in order; an over-wide cell is cut with an ellipsis."""
    lines: list[Text] = []
    line: Text | None = None
    for cell in cells:
        if line is not None and line.cell_len + len(CELL_GAP) + cell.cell_len <= width:
            line.append(CELL_GAP)
            line.append_text(cell)
            continue
        if line is not None:
            lines.append(line)
        line = cell.copy()
    if line is not None:
        lines.append(line)
    for each in lines:
        each.truncate(width, overflow="ellipsis")
    return lines


def _bar(ratio: float, width: int) -> Text:
    done = round(max(0.0, min(1.0, ratio)) * width)
    # Different glyphs for done and to-do, so the bar reads without colour (NO_COLOR).
    return Text.assemble(("━" * done, BAR_DONE_STYLE), ("─" * (width - done), BAR_BACK_STYLE))


def _left(seconds: float) -> str:
    return f"{seconds:.1f} s left" if seconds < 60 else f"{format_duration(seconds)} left"


def _fps(value: float | None) -> str:
    return f"{value:.1f}" if value is not None else "-"


def drop_warning(ratio: float | None, window_s: float = DROP_WINDOW_S) -> str | None:
    """The warning for a dropped-frame ``ratio`` above :data:`DROP_WARN_RATIO`, or None."""
    if ratio is None or ratio <= DROP_WARN_RATIO:
        return None
    return f"{ratio:.1%} of frames dropped in the last {window_s:g} s: the capture cannot keep up"


def key_hints(*, pausable: bool, paused: bool, stopping: bool) -> list[str]:
    """The keys that work now, as short hints for the panel's last line."""
    if stopping:
        return ["Ctrl-C again: stop now"]
    hints = [f"space/p {'resume' if paused else 'pause'}"] if pausable else []
    return [*hints, "Ctrl-C stop", "twice: stop now"]


class StatsView:
    """The live panel of one recording: a fixed set of rows, folded to the width.

    Rows: the state and time (with a progress bar when the duration is
    known), frames, the output, the cursor log (when one is kept), the pipe
    (``verbose`` only), a warning line that is blank when all is well, and
    the key hints. Every row is always there and numbers have fixed widths,
    so the height depends only on the terminal's width: the panel never
    jumps. Rates (fps, bitrate, speed) show once a run of frames is
    :data:`SETTLE_S` old: FFmpeg's first blocks after a start or a resume
    say 0.0 fps and tens of Mb/s. ``stop`` (read at each redraw) turns the
    head into "stopping...". Thread-safe: ``update`` and ``warn`` come from
    different threads and rich renders from a third.
    """

    def __init__(self, *, clock: Callable[[], float] = time.monotonic, window_s: float = DROP_WINDOW_S,
                 stop: StopControl | None = None, pausable: bool = False, verbose: bool = False,
                 cursor: bool = False, hints: bool = True) -> None:
        self._clock = clock
        self._window = DropWindow(window_s=window_s)
        self._lock = threading.Lock()
        self._state = ViewState()
        self._stop = stop
        self.pausable = pausable
        self.verbose = verbose
        self.cursor = cursor
        self.hints = hints

    def reset(self) -> None:
        """Forget the last recording (a batch shows one after another)."""
        with self._lock:
            self._window = DropWindow(window_s=self._window.window_s)
            self._state = ViewState()

    def update(self, stats: RecordingStats) -> None:
        with self._lock:
            if stats.started:
                self._window.add(stats.elapsed_s, stats.progress.frame, stats.progress.drop_frames)
            self._state = dataclasses.replace(next_state(self._state, stats), drop_ratio=self._window.ratio())

    def warn(self, text: str) -> None:
        with self._lock:
            state = self._state
            self._state = dataclasses.replace(state, warning=text, warning_at=self._clock(),
                                              warning_count=state.warning_count + 1)

    def wait(self, seconds: float) -> None:
        """Show a countdown until the recording starts in ``seconds``."""
        with self._lock:
            self._state = dataclasses.replace(self._state, starts_at=self._clock() + seconds)

    @property
    def drop_ratio(self) -> float | None:
        return self._state.drop_ratio

    @property
    def shown_elapsed(self) -> float:
        """The time the panel shows: monotonic, never past the duration."""
        return self._state.shown_s

    def warning_text(self) -> str | None:
        """The warning line's text: dropped frames, then the latest warning while it is fresh."""
        state = self._state
        parts = [text for text in (drop_warning(state.drop_ratio, self._window.window_s),) if text]
        if state.warning is not None and self._clock() - state.warning_at <= WARNING_HOLD_S:
            times = f" (x{state.warning_count})" if state.warning_count > 1 else ""
            parts.append(f"{state.warning}{times}")
        return " · ".join(parts) if parts else None

    def lines(self, width: int) -> list[Text]:
        """The panel as lines of at most ``width`` cells."""
        width = max(width, 1)
        state = self._state
        stats = state.stats
        settled = self.settled(state)
        lines = self._header(state, width)
        rows = [self._frame_cells(stats, settled=settled), self._output_cells(stats, settled=settled)]
        if self.cursor:
            rows.append(self._cursor_cells(stats, verbose=self.verbose))
        if self.verbose:
            rows.append(self._pipe_cells(stats))
        if width >= ROWS_MIN_WIDTH:
            for row in rows:
                lines += _pack(row, width)
        else:
            # Narrow: one flow of cells fills the lines instead of a half-empty line per row.
            lines += _pack([cell for row in rows for cell in row], width)
        warning = self.warning_text()
        line = Text(f"⚠ {warning}", style=WARN_STYLE) if warning else Text("")
        line.truncate(width, overflow="ellipsis")
        lines.append(line)
        if self.hints:
            paused = stats is not None and stats.paused
            hints = key_hints(pausable=self.pausable, paused=paused, stopping=self._stopping())
            lines += _pack([Text(hint, style=LABEL_STYLE) for hint in hints], width)
        for each in lines:
            each.no_wrap = True
            each.overflow = "ellipsis"
        return lines

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from self.lines(options.max_width)

    def _stopping(self) -> bool:
        return self._stop is not None and self._stop.requested

    @staticmethod
    def settled(state: ViewState) -> bool:
        """The current run of frames is old enough for FFmpeg's rates to mean something."""
        stats = state.stats
        return (stats is not None and state.recording and not stats.paused
                and stats.elapsed_s - state.run_since_s >= SETTLE_S)

    def _state_head(self, state: ViewState) -> Text:
        stats = state.stats
        if self._stopping():
            word = "stopping now…" if self._stop is not None and self._stop.fast else "stopping…"
            return Text(f"■ {word}", style=STOP_STYLE)
        if stats is not None and stats.duration_s is not None and state.recording \
                and state.shown_s >= stats.duration_s:
            return Text("■ finishing…", style=STOP_STYLE)
        if stats is not None and stats.paused:
            return Text("❚❚ PAUSED", style=PAUSED_STYLE)
        head = Text("● REC", style=REC_STYLE)
        if stats is not None and stats.stalled_s > 0:
            head.append(f" STALLED {stats.stalled_s:.0f}s", style=PAUSED_STYLE)
        return head

    def _header(self, state: ViewState, width: int) -> list[Text]:
        stats = state.stats
        duration = stats.duration_s if stats is not None else None
        if state.starts_at is not None:
            head = Text("◷ ", style=LABEL_STYLE)
            head.append(f"starting in {max(0.0, state.starts_at - self._clock()):.1f} s")
            times, ratio = "", 0.0
        elif not state.recording:
            head = Text("◷ ", style=LABEL_STYLE)
            head.append("stopping…" if self._stopping() else "starting…")
            times, ratio = "", 0.0
        else:
            head = self._state_head(state)
            times = format_duration(state.shown_s)
            ratio = state.shown_s / duration if duration else 0.0
        if duration is not None:
            total = format_duration(duration)
            left = _left(max(0.0, duration - state.shown_s))
            head.append(f" {times or format_duration(0)} / {total}")
            tail = Text(left.rjust(len(_left(duration))), style=LABEL_STYLE)
            room = width - head.cell_len - tail.cell_len - 2 * len(" ")
            if room >= BAR_MIN_WIDTH:
                return [Text.assemble(head, " ", _bar(ratio, min(room, BAR_MAX_WIDTH)), " ", tail)]
            # Too narrow for all three: the bar and the time left get a line of their own.
            room = width - tail.cell_len - len(" ")
            if room >= BAR_MIN_WIDTH:
                return [*_pack([head], width), Text.assemble(_bar(ratio, min(room, BAR_MAX_WIDTH)), " ", tail)]
            return [*_pack([head, tail], width), _bar(ratio, max(1, min(width, BAR_MAX_WIDTH)))]
        head.append(" " + (times or format_duration(0)))
        return _pack([head, Text("until stopped", style=LABEL_STYLE)], width)

    @staticmethod
    def _frame_cells(stats: RecordingStats | None, *, settled: bool) -> list[Text]:
        progress = stats.progress if stats is not None else None
        target = f"{stats.target_fps:g}" if stats is not None else "-"
        # FFmpeg reports fps 0 until a second after its own start (t > 1 ? frames / t : 0), which may come a
        # moment after the panel's run settled: 0 means not known yet.
        fps = progress.fps if progress is not None and settled and progress.fps else None
        return [
            _cell("frames", str(progress.frame if progress else 0), width=FRAMES_WIDTH),
            _cell("fps", f"{_fps(fps)}/{target}", width=len("00.0/00")),
            _cell("dropped", str(progress.drop_frames if progress else 0), width=4),
            _cell("dup", str(progress.dup_frames if progress else 0), width=4),
        ]

    @staticmethod
    def _output_cells(stats: RecordingStats | None, *, settled: bool) -> list[Text]:
        progress = stats.progress if stats is not None else None
        # Paused or resumed, the bitrate is the whole recording's (the engine sums the segments): it means
        # something from the first block. Only the very start waits for a settled run.
        total = stats is not None and (stats.paused or stats.segment > 1) and stats.elapsed_s >= SETTLE_S
        bitrate = progress.bitrate_kbps if progress is not None and (settled or total) else None
        speed = progress.speed if progress is not None and settled else None
        return [
            _cell("size", format_bytes(stats.bytes if stats is not None else 0), width=SIZE_WIDTH),
            _cell("bitrate", f"{bitrate:.0f}" if bitrate is not None else "-", width=BITRATE_WIDTH)
            + Text(" kb/s", style=LABEL_STYLE),
            _cell("speed", f"{speed:.2f}x" if speed is not None else "-", width=len("0.00x")),
        ]

    @staticmethod
    def _pipe_cells(stats: RecordingStats | None) -> list[Text]:
        size = stats.pipe_size if stats is not None else None
        high = stats.pipe_high_water if stats is not None else 0
        fill = f"({high / size:.0%})".rjust(len(" (100%)")) if size else ""
        return [
            _cell("pipe", format_bytes(size) if size else "-", width=SIZE_WIDTH),
            _cell("high-water", format_bytes(high), width=SIZE_WIDTH) + Text(fill, style=LABEL_STYLE),
        ]

    @staticmethod
    def _cursor_cells(stats: RecordingStats | None, *, verbose: bool) -> list[Text]:
        cursor: Any = stats.cursor if stats is not None else None
        events, moves, clicks, scrolls = ((cursor.events, cursor.moves, cursor.clicks, cursor.scrolls)
                                          if cursor is not None else (0, 0, 0, 0))
        cells = [
            _cell("cursor", str(events), width=FRAMES_WIDTH),
            _cell("moves", str(moves), width=FRAMES_WIDTH),
            _cell("clicks", str(clicks), width=4),
            _cell("scrolls", str(scrolls), width=4),
        ]
        if verbose:
            written, skipped = (cursor.flushes_written, cursor.flushes_skipped) if cursor is not None else (0, 0)
            cells.append(_cell("flushes", f"{written} written/{skipped} skipped"))
        return cells


def stats_line(stats: RecordingStats, *, elapsed_s: float | None = None, settled: bool = True) -> str:
    """One line of live stats for logs: the plain display's line.

    ``elapsed_s`` replaces the stats' time (the display keeps it monotonic);
    unless ``settled``, FFmpeg's fps and speed (averages over a run's first
    second) show as ``-``.
    """
    progress = stats.progress
    bitrate = f"{progress.bitrate_kbps:.0f} kb/s" if progress.bitrate_kbps is not None else "-"
    speed = f"{progress.speed:.2f}x" if progress.speed is not None and settled else "-"
    elapsed = stats.elapsed_s if elapsed_s is None else elapsed_s
    parts = [
        format_duration(elapsed) + (f"/{format_duration(stats.duration_s)}" if stats.duration_s else ""),
        f"frames {progress.frame}",
        f"fps {_fps(progress.fps if settled else None)}/{stats.target_fps:g}",
        f"dropped {progress.drop_frames}",
        f"dup {progress.dup_frames}",
        f"size {format_bytes(stats.bytes)}",
        f"bitrate {bitrate}",
        f"speed {speed}",
    ]
    cursor = stats.cursor
    if cursor is not None:
        parts.append(f"cursor {cursor.events}")
    if stats.paused:
        parts.insert(0, "PAUSED")
    elif stats.stalled_s > 0:
        parts.insert(0, f"STALLED {stats.stalled_s:.0f}s")
    return "  ".join(parts)
