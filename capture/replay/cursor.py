"""The cursor log of a replay buffer: a ring of recent events instead of a growing file.

:class:`CursorRing` is a :class:`caprec.capture.cursor.writer.CursorSink`: the ordinary
:class:`~caprec.capture.cursor.writer.CursorWriter` formats events and "writes" them here,
where they are kept as lines in a bounded deque, forgotten when the video
ring forgets the same span (:meth:`CursorRing.trim_before`). A save takes
:meth:`CursorRing.slice`: the header and the events of the clip's span, with
``t`` rebased to the clip's first frame, as a complete cursor log.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from datetime import UTC, datetime
from typing import Any

from caprec.capture.cursor.writer import MAX_PENDING_EVENTS

_T_PREFIX = b'{"t":'


class CursorRing:
    """Cursor log lines kept in memory: the header, then at most ``max_events`` events.

    Thread-safe: the cursor writer's thread writes, the video ring's
    thread trims, a saver thread slices.
    """

    def __init__(self, *, max_events: int = MAX_PENDING_EVENTS) -> None:
        self._lock = threading.Lock()
        self._header: bytes | None = None
        self._events: deque[tuple[float, bytes]] = deque(maxlen=max_events)
        self._partial = b""
        self._floor_ms = 0.0

    # -- CursorSink ---------------------------------------------------------------

    def write(self, data: memoryview) -> int:
        """Take formatted lines (a torn last line waits for the rest); returns ``len(data)``."""
        size = len(data)
        text = self._partial + bytes(data)
        lines = text.split(b"\n")
        self._partial = lines.pop()
        with self._lock:
            for line in lines:
                if self._header is None:
                    self._header = line + b"\n"
                    continue
                t = _event_time(line)
                if t is not None and t >= self._floor_ms:
                    self._events.append((t, line + b"\n"))
        return size

    def fsync(self) -> None:
        """Nothing to make durable: the ring lives in memory."""

    def close(self) -> None:
        """Nothing to release."""

    # -- the replay buffer's side ---------------------------------------------------

    def trim_before(self, seconds: float) -> None:
        """Forget events before ``seconds`` on the recording's timeline."""
        floor = seconds * 1000.0
        with self._lock:
            self._floor_ms = floor
            events = self._events
            while events and events[0][0] < floor:
                events.popleft()

    def __len__(self) -> int:
        return len(self._events)

    def slice(self, start_s: float, end_s: float) -> bytes | None:
        """A cursor log of the span [start_s, end_s], ``t`` rebased to ``start_s``; None before the header."""
        start_ms, end_ms = start_s * 1000.0, end_s * 1000.0
        with self._lock:
            header = self._header
            chosen = [(t, line) for t, line in self._events if start_ms <= t <= end_ms]
        if header is None:
            return None
        parts = [_rebase_header(header, start_s)]
        for t, line in chosen:
            comma = line.index(b",")
            parts.append(b'{"t":%.1f' % (t - start_ms) + line[comma:])
        return b"".join(parts)


def _event_time(line: bytes) -> float | None:
    if not line.startswith(_T_PREFIX):
        return None
    comma = line.find(b",", len(_T_PREFIX))
    try:
        return float(line[len(_T_PREFIX):comma])
    except ValueError:
        return None


def _rebase_header(header: bytes, start_s: float) -> bytes:
    """The header with the first frame moved to the clip's first frame."""
    data: dict[str, Any] = json.loads(header)
    wall = data.get("first_frame_wall")
    if isinstance(wall, int | float):
        wall = wall + start_s
        data["first_frame_wall"] = wall
        data["first_frame_utc"] = (datetime.fromtimestamp(wall, tz=UTC).isoformat(timespec="milliseconds")
                                   .replace("+00:00", "Z"))
    return (json.dumps(data, separators=(",", ":")) + "\n").encode()
