"""The cursor log writer: pointer events in, an append-only NDJSON file out.

The writer is built so that its cost does not grow with the recording's
length, which is how the recorder Cap failed (all events kept in memory, the
whole pretty-printed file rewritten every 5 s):

* event entry points only take a timestamp and append a small tuple under a
  lock held for O(1) work: no formatting, no I/O;
* a flush formats only the events that arrived since the last flush, writes
  them with one append and forgets them; an idle tick makes no syscall;
* the file is created exclusively and only ever appended to.
"""

from __future__ import annotations

import errno
import json
import math
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

from caprec.capture.cursor.format import CURSOR_FORMAT, CURSOR_FORMAT_VERSION, CursorContext
from caprec.capture.errors import CaptureError, OutputError

__all__ = [
    "DEFAULT_FLUSH_INTERVAL",
    "MAX_PENDING_EVENTS",
    "CursorSink",
    "CursorStats",
    "CursorWriter",
]

DEFAULT_FLUSH_INTERVAL = 1.0
# Events wait in memory only while the origin is unknown or the disk refuses
# writes. A pending event costs ~150-200 bytes of Python objects, so 250k caps
# that at ~50 MB while still holding ~4 minutes of a 1000 Hz gaming mouse,
# ~35 minutes at the common 125 Hz USB polling rate and over an hour at 60 Hz.
# A million (the first guess) would allow ~200 MB, which is the kind of
# growth this module exists to prevent.
MAX_PENDING_EVENTS = 250_000
# Event lines. t is in ms with one decimal (0.1 ms: far below a frame
# interval and pynput's own jitter); nx/ny have five decimals (1e-5 is a
# tenth of a pixel on an 8K-wide region). Fixed decimals (%.Nf) format ~3x
# faster than round() + repr. x/y/dx/dy keep their type (%r): ints from X11
# and Windows, floats from macOS.
_MOVE_LINE = '{"t":%.1f,"type":"move","x":%r,"y":%r,"nx":%.5f,"ny":%.5f}\n'
_CLICK_LINE = '{"t":%.1f,"type":"click","x":%r,"y":%r,"nx":%.5f,"ny":%.5f,"button":%s,"pressed":%s}\n'
_SCROLL_LINE = '{"t":%.1f,"type":"scroll","x":%r,"y":%r,"nx":%.5f,"ny":%.5f,"dx":%r,"dy":%r}\n'
_SHAPE_LINE = '{"t":%.1f,"type":"cursor","x":%r,"y":%r,"nx":%.5f,"ny":%.5f,"shape":%s,"xhot":%d,"yhot":%d}\n'
_JSON_SEPARATORS = (",", ":")

# Event kinds in the in-memory tuples: ints compare and unpack faster than strings.
_MOVE = 0
_CLICK = 1
_SCROLL = 2
_SHAPE = 3

# (kind, clock, x, y, a, b): a/b are button/pressed for clicks, dx/dy for scrolls.
_RawEvent = tuple[int, float, float, float, Any, Any]


@dataclass
class CursorStats:
    """A snapshot of a writer's counters, returned by value.

    ``events``/``moves``/``clicks``/``scrolls`` count events written to the
    file. ``dropped`` counts events that will never be written: pushed out of
    the full pending buffer, timed before the first frame, or still unwritable
    (or without an origin) when the writer stopped. ``pending`` counts events
    buffered but not yet written.
    """

    events: int
    moves: int
    clicks: int
    scrolls: int
    flushes_written: int
    flushes_skipped: int
    dropped: int
    bytes_written: int
    write_errors: int
    last_error: str | None
    pending: int = 0


class CursorSink(Protocol):
    """Where a writer's bytes go: an append-only file, or a fake in tests."""

    def write(self, data: memoryview) -> int:
        """Write a prefix of ``data``; return how many bytes were written or raise OSError."""
        ...

    def fsync(self) -> None:
        """Make written bytes durable."""
        ...

    def close(self) -> None:
        """Release the file."""
        ...


class _FdSink:
    """A file descriptor opened with O_APPEND, written with os.write."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    def write(self, data: memoryview) -> int:
        return os.write(self._fd, data)

    def fsync(self) -> None:
        os.fsync(self._fd)

    def close(self) -> None:
        os.close(self._fd)


def _open_exclusive_append(path: Path) -> CursorSink:
    # O_EXCL refuses to clobber a file that appeared since the writer was made;
    # O_APPEND makes every write land at the end, so a retried tail follows the
    # bytes already written. O_BINARY stops Windows from translating newlines.
    # os.open makes the descriptor non-inheritable, so ffmpeg never gets it.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | getattr(os, "O_BINARY", 0)
    return _FdSink(os.open(path, flags, 0o644))


@dataclass
class _Outgoing:
    """Bytes on their way to the file and the events they carry.

    After a failed or partial write the unwritten remainder stays here and is
    written first next time, so a line torn by the failure is completed
    before any later line: the file never has a torn line in its middle.
    """

    data: bytes
    written: int = 0
    moves: int = 0
    clicks: int = 0
    scrolls: int = 0

    @property
    def events(self) -> int:
        return self.moves + self.clicks + self.scrolls


class CursorWriter:
    """Buffers pointer events from any thread and appends them to an NDJSON log.

    Nothing is written until :meth:`set_origin` gives the video's first frame;
    then the next flush creates the file with its header. :meth:`start` runs
    a thread that flushes every ``flush_interval`` seconds; :meth:`stop`
    stops it, writes what is left and closes the file.

    ``opener`` (keyword-only, for tests and benchmarks) replaces the default
    exclusive, append-only open of ``path``.
    """

    def __init__(
        self,
        path: Path,
        context: CursorContext,
        *,
        flush_interval: float = DEFAULT_FLUSH_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        max_pending: int = MAX_PENDING_EVENTS,
        on_error: Callable[[OSError], None] | None = None,
        opener: Callable[[Path], CursorSink] | None = None,
    ) -> None:
        if not (math.isfinite(flush_interval) and flush_interval > 0):
            raise ValueError(f"flush_interval must be positive, got {flush_interval!r}")
        if max_pending < 1:
            raise ValueError(f"max_pending must be at least 1, got {max_pending!r}")
        if opener is None:
            # Fail before the recording starts rather than at the first frame.
            if os.path.lexists(path):
                raise OutputError(f"cursor log {path} already exists; refusing to overwrite it")
            opener = _open_exclusive_append
        self._path = path
        self._context = context
        self._flush_interval = flush_interval
        self._clock = clock
        self._max_pending = max_pending
        self._on_error = on_error
        self._opener = opener

        # _lock guards the inbox and its drop counter; producers hold it only
        # for a clock read and an append, the flusher only for a swap.
        self._lock = threading.Lock()
        self._inbox: deque[_RawEvent] = deque(maxlen=max_pending)
        self._dropped_full = 0

        # _flush_lock serializes flushes (writer thread, explicit flush, stop).
        self._flush_lock = threading.Lock()
        self._origin_monotonic: float | None = None
        self._origin_wall: float | None = None
        # Pause/resume: while paused, events are ignored (paused time is not
        # in the video). After resume() the next set_origin() maps the new
        # segment's first frame to `_floor_ms`, the recorded time so far.
        self._paused = False
        self._awaiting_segment = False
        self._floor_ms = 0.0
        self._sink: CursorSink | None = None
        self._outgoing: _Outgoing | None = None
        self._closed = False
        self._failing = False  # inside an error episode: on_error already told

        self._moves = 0
        self._clicks = 0
        self._scrolls = 0
        self._flushes_written = 0
        self._flushes_skipped = 0
        self._dropped_other = 0
        self._bytes_written = 0
        self._write_errors = 0
        self._last_error: str | None = None

        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._stopped_stats: CursorStats | None = None
        self._state_lock = threading.Lock()

    @property
    def context(self) -> CursorContext:
        """The facts this log's header records (the region, the frame rate...)."""
        return self._context

    @property
    def path(self) -> Path:
        """The log's path."""
        return self._path

    # -- event entry points: any thread, O(1), never block on I/O ---------

    def on_move(self, x: float, y: float) -> None:
        """Record a pointer move to screen position (x, y)."""
        with self._lock:
            if self._paused:
                return
            # Full deque: append drops the oldest event; count it first.
            if len(self._inbox) == self._max_pending:
                self._dropped_full += 1
            # The clock is read under the lock so that file order is time order.
            self._inbox.append((_MOVE, self._clock(), x, y, None, None))

    def on_click(self, x: float, y: float, button: str, pressed: bool) -> None:
        """Record a press (``pressed=True``) or release of ``button`` (e.g. "left") at (x, y)."""
        with self._lock:
            if self._paused:
                return
            if len(self._inbox) == self._max_pending:
                self._dropped_full += 1
            self._inbox.append((_CLICK, self._clock(), x, y, button, pressed))

    def on_scroll(self, x: float, y: float, dx: int, dy: int) -> None:
        """Record a scroll of (dx, dy) steps at (x, y)."""
        with self._lock:
            if self._paused:
                return
            if len(self._inbox) == self._max_pending:
                self._dropped_full += 1
            self._inbox.append((_SCROLL, self._clock(), x, y, dx, dy))

    def on_shape(self, x: float, y: float, shape: str, xhot: int, yhot: int) -> None:
        """Record that the pointer (at x, y) now looks like ``shape`` (see caprec.capture.cursor.shapes)."""
        with self._lock:
            if self._paused:
                return
            if len(self._inbox) == self._max_pending:
                self._dropped_full += 1
            self._inbox.append((_SHAPE, self._clock(), x, y, shape, (xhot, yhot)))

    # -- timeline -----------------------------------------------------------

    def set_origin(self, *, monotonic: float, wall: float) -> None:
        """Set t = 0: ``monotonic`` is the writer's clock at the video's first frame, ``wall`` its epoch time.

        The next flush (prompted now if the writer thread runs) creates the
        file and writes the header. Raises CaptureError if the origin was
        already set or the writer has stopped.
        """
        if not (math.isfinite(monotonic) and math.isfinite(wall)):
            raise ValueError(f"origin must be finite, got monotonic={monotonic!r} wall={wall!r}")
        # Not the flush lock: a flush stuck in a slow write must not block
        # the caller that saw the first frame.
        with self._state_lock:
            if self._stopping or self._closed:
                raise CaptureError("cursor writer already stopped; cannot set its origin")
            if self._awaiting_segment:
                # A later segment: its first frame is at `_floor_ms` on the
                # recording's timeline (the segments joined end to end).
                self._awaiting_segment = False
                self._origin_monotonic = monotonic - self._floor_ms / 1000.0
                self._wake.set()
                return
            if self._origin_monotonic is not None:
                raise CaptureError("cursor origin already set; the video has one first frame")
            # Wall first: a flush that sees the monotonic origin must see both.
            self._origin_wall = wall
            self._origin_monotonic = monotonic
        self._wake.set()

    def pause(self) -> None:
        """Stop taking events (the video is paused) after writing those taken so far.

        The pending events are flushed now, with the current segment's
        timeline; events that arrive while paused are ignored.
        """
        with self._lock:
            self._paused = True
        self.flush()

    def resume(self, *, offset_ms: float) -> None:
        """Take events again for a new segment that starts ``offset_ms`` into the recording.

        Events wait until :meth:`set_origin` gives the new segment's first
        frame; those from before it are dropped like events before t = 0.
        """
        if not (math.isfinite(offset_ms) and offset_ms >= 0):
            raise ValueError(f"offset_ms must be finite and >= 0, got {offset_ms!r}")
        with self._flush_lock, self._state_lock:
            self._floor_ms = offset_ms
            self._awaiting_segment = True
            self._origin_monotonic = None
        with self._lock:
            self._paused = False

    # -- flushing -----------------------------------------------------------

    def flush(self) -> bool:
        """Write all pending events now.

        Returns True if bytes were written, False if there was nothing to
        write, the origin is not set yet, or the write failed (see
        :meth:`stats`). An OSError is never raised: it goes to ``on_error``.
        """
        with self._flush_lock:
            if self._closed:
                return False
            return self._flush_locked()

    def _flush_locked(self) -> bool:
        errors_before = self._write_errors
        wrote = self._flush_steps()
        if wrote:
            self._flushes_written += 1
        elif self._write_errors == errors_before:
            self._flushes_skipped += 1
        return wrote

    def _flush_steps(self) -> bool:
        wrote = False
        if self._outgoing is not None:
            # Finish the tail of a failed write before anything else; until it
            # goes through, new events wait in the bounded inbox.
            if not self._write_outgoing():
                return False
            wrote = True
        if self._origin_monotonic is None:
            return wrote  # before the first frame, or a new segment's first frame
        prefix = b""
        if self._sink is None:
            if not self._open():
                return wrote
            prefix = self._header_line()
        batch: deque[_RawEvent] | None = None
        with self._lock:
            if self._inbox:
                # O(1) swap: producers never wait for formatting.
                batch, self._inbox = self._inbox, deque(maxlen=self._max_pending)
        if batch is None and not prefix:
            return wrote  # idle tick: no formatting, no syscall, no fsync
        out = self._format(batch, prefix)
        if not out.data:
            return wrote  # every event of the batch was before t = 0
        self._outgoing = out
        return self._write_outgoing() or wrote

    def _open(self) -> bool:
        try:
            self._sink = self._opener(self._path)
        except OSError as exc:
            self._record_error(exc)
            return False
        return True

    def _write_outgoing(self) -> bool:
        out = self._outgoing
        sink = self._sink
        assert out is not None and sink is not None
        view = memoryview(out.data)
        try:
            # One call normally writes everything; the loop handles short writes.
            while out.written < len(view):
                n = sink.write(view[out.written :])
                if n <= 0:
                    raise OSError(errno.EIO, "write made no progress")
                out.written += n
                self._bytes_written += n
        except OSError as exc:
            self._record_error(exc)
            return False
        finally:
            view.release()
        self._moves += out.moves
        self._clicks += out.clicks
        self._scrolls += out.scrolls
        self._outgoing = None
        self._failing = False
        return True

    def _record_error(self, exc: OSError) -> None:
        self._write_errors += 1
        self._last_error = f"{self._path}: {exc.strerror or exc}"
        if self._failing:
            return
        # Tell the owner once per error episode (until a write succeeds
        # again), not every tick while the disk stays full.
        self._failing = True
        if self._on_error is not None:
            try:
                self._on_error(exc)
            except Exception as cb_exc:  # a broken callback must not stop the recording's cursor log
                self._last_error = f"{self._last_error} (on_error callback failed: {cb_exc!r})"

    def _header_line(self) -> bytes:
        ctx = self._context
        wall = self._origin_wall
        screen = (
            {"width": ctx.screen_width, "height": ctx.screen_height}
            if ctx.screen_width is not None and ctx.screen_height is not None
            else None
        )
        header: dict[str, Any] = {
            "format": CURSOR_FORMAT,
            "version": CURSOR_FORMAT_VERSION,
            "caprec_version": ctx.caprec_version,
            "source": ctx.source,
            "region": asdict(ctx.region),
            "screen": screen,
            "unit": ctx.unit,
            "scale": ctx.scale,
            "fps": ctx.fps,
            "first_frame_wall": wall,
            "first_frame_utc": _iso_utc(wall) if wall is not None else None,
            "flush_interval": self._flush_interval,
        }
        return (json.dumps(header, separators=_JSON_SEPARATORS) + "\n").encode()

    def _format(self, batch: deque[_RawEvent] | None, prefix: bytes) -> _Outgoing:
        # Hand-built JSON with %-templates: about 3x faster than json.dumps or
        # round()+repr per event, which is what lets a flush keep up with a
        # 1000 Hz mouse at a few percent of one core. Every value is an int, a
        # finite float or a json-quoted string, so the output is valid JSON.
        origin = self._origin_monotonic
        assert origin is not None
        floor = self._floor_ms
        region = self._context.region
        ox, oy, w, h = region.x, region.y, float(region.width), float(region.height)
        buttons: dict[str, str] = {}
        parts: list[str] = []
        append = parts.append
        # Locals, not globals, in the hot loop; moves are counted by difference.
        move_line, click_line, scroll_line = _MOVE_LINE, _CLICK_LINE, _SCROLL_LINE
        clicks = scrolls = shapes = early = 0
        for kind, clk, x, y, a, b in batch or ():
            t = (clk - origin) * 1000.0
            if t < floor:  # before the first frame (of this segment)
                early += 1
                continue
            rx = x - ox
            ry = y - oy
            if kind == _MOVE:
                append(move_line % (t, rx, ry, rx / w, ry / h))
            elif kind == _CLICK:
                name = buttons.get(a)
                if name is None:
                    name = buttons[a] = json.dumps(str(a))
                append(click_line % (t, rx, ry, rx / w, ry / h, name, "true" if b else "false"))
                clicks += 1
            elif kind == _SCROLL:
                append(scroll_line % (t, rx, ry, rx / w, ry / h, a, b))
                scrolls += 1
            else:  # a shape change: not a move, click or scroll in the counts
                append(_SHAPE_LINE % (t, rx, ry, rx / w, ry / h, json.dumps(a), b[0], b[1]))
                shapes += 1
        self._dropped_other += early
        data = prefix + "".join(parts).encode() if parts else prefix
        return _Outgoing(data, moves=len(parts) - clicks - scrolls - shapes, clicks=clicks, scrolls=scrolls)

    # -- thread and lifecycle ----------------------------------------------

    def start(self) -> None:
        """Start the flush thread (non-daemon, owned and joined by this writer). Idempotent while running."""
        with self._state_lock:
            if self._stopped_stats is not None or self._stopping:
                raise CaptureError("cursor writer already stopped; make a new one")
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._run, name="caprec-cursor-writer", daemon=False)
            self._thread.start()

    def _run(self) -> None:
        while True:
            self._wake.wait(self._flush_interval)
            self._wake.clear()
            if self._stopping:
                return
            self.flush()

    def stop(self) -> CursorStats:
        """Stop and join the thread, write what is left, fsync and close. Idempotent.

        Without an origin the file still gets its header (first-frame fields
        null) and buffered events, which cannot be placed on the timeline,
        count as dropped. Events that still cannot be written count as dropped.
        """
        if threading.current_thread() is self._thread:
            # From on_error, say: joining itself would deadlock.
            raise CaptureError("cursor writer cannot be stopped from its own thread")
        with self._state_lock:
            if self._stopped_stats is not None:
                return self._stopped_stats
            self._stopping = True
            self._wake.set()
            thread = self._thread
            # No timeout: the thread only waits on _wake or inside a write, and
            # closing the file under a write in progress would be worse.
            if thread is not None:
                thread.join()
            with self._flush_lock:
                self._final_flush_locked()
                self._closed = True
            self._stopped_stats = self.stats()
            return self._stopped_stats

    def _final_flush_locked(self) -> None:
        if self._origin_monotonic is None:
            with self._lock:
                self._dropped_other += len(self._inbox)
                self._inbox.clear()
            if self._sink is None and self._open():
                self._outgoing = _Outgoing(self._header_line())
        self._flush_locked()
        # Whatever is still here could not be written (disk full, file not
        # creatable): it is lost, and counted so.
        lost = self._outgoing.events if self._outgoing is not None else 0
        self._outgoing = None
        with self._lock:
            lost += len(self._inbox)
            self._inbox.clear()
        self._dropped_other += lost
        if self._sink is not None:
            # One fsync at the end makes a finished log durable; per-flush
            # fsyncs would only add power-loss safety the video file does not
            # have either (a process crash loses nothing already written).
            try:
                self._sink.fsync()
            except OSError as exc:
                self._record_error(exc)
            try:
                self._sink.close()
            except OSError as exc:
                self._record_error(exc)
            self._sink = None

    def stats(self) -> CursorStats:
        """A snapshot of the counters (read without stopping the producers)."""
        outgoing = self._outgoing
        pending_out = outgoing.events if outgoing is not None else 0
        return CursorStats(
            events=self._moves + self._clicks + self._scrolls,
            moves=self._moves,
            clicks=self._clicks,
            scrolls=self._scrolls,
            flushes_written=self._flushes_written,
            flushes_skipped=self._flushes_skipped,
            dropped=self._dropped_full + self._dropped_other,
            bytes_written=self._bytes_written,
            write_errors=self._write_errors,
            last_error=self._last_error,
            pending=len(self._inbox) + pending_out,
        )

    def __enter__(self) -> CursorWriter:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _iso_utc(wall: float) -> str:
    return datetime.fromtimestamp(wall, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")

