"""The pointer sampler: the position read at most once per video frame, and not at all while it rests.

A moving pointer is read once per sampling interval (the video's frame
interval) and a move is reported only when the position changed. Once the
position has not changed for :data:`IDLE_AFTER_S`, the sampler arms a
:class:`Waker` (XInput2 motion on X11) and sleeps until it fires: a resting
pointer costs no wake-ups, and the first move after the rest is read the
moment its first event arrives, not at the next frame. A slow check every
:data:`IDLE_CHECK_S` covers moves that send the waker no event (a warp over
a window that takes motion itself). Without a waker the sampler reads every
interval, as before.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import time
from collections.abc import Callable
from typing import Protocol

__all__ = ["IDLE_AFTER_S", "IDLE_CHECK_S", "PointerSampler", "Waker"]

# A pointer still for this long goes to sleep. Arming and disarming the waker costs ~1 ms of
# CPU (python-xlib requests and event decoding), so a hand pausing between strokes must not
# do it every frame; a quarter second bounds that to 4 per second at worst.
IDLE_AFTER_S = 0.25
# How often a sleeping sampler still reads the pointer, for moves no event announces.
IDLE_CHECK_S = 0.5


class Waker(Protocol):
    """Something that makes :meth:`fileno` readable when the pointer moves, while armed."""

    def fileno(self) -> int: ...
    def arm(self) -> bool: ...
    def disarm(self) -> bool: ...
    def close(self) -> None: ...


class PointerSampler:
    """Reads the pointer with ``read`` on the thread that calls :meth:`run`; reports changes to ``report``.

    ``read`` returns the position, or None when the display went away (the
    sampler then ends). :meth:`stop` (any thread) ends :meth:`run` at once;
    :meth:`close` releases the wake pipe and the waker once ``run`` has
    returned.
    """

    def __init__(self, read: Callable[[], tuple[int, int] | None], report: Callable[[int, int], None], *,
                 interval: float, waker: Waker | None = None, idle_after: float = IDLE_AFTER_S,
                 idle_check: float = IDLE_CHECK_S, clock: Callable[[], float] = time.monotonic) -> None:
        if not interval > 0:
            raise ValueError(f"interval must be positive, got {interval!r}")
        self._read = read
        self._report = report
        self._interval_ms = interval * 1000.0
        self._waker = waker
        self._idle_after = idle_after
        self._idle_check_ms = idle_check * 1000.0
        self._clock = clock
        # stop() writes a byte here: run() sleeps in poll() on it, so a stop never waits for a tick.
        self._stop_r, self._stop_w = os.pipe()
        self._stopping = False
        self._pipe_lock = threading.Lock()
        self._pipe_open = True
        self.idle = False  # sleeping until the pointer moves (read by tests)

    def run(self) -> None:
        """Sample until :meth:`stop` or until ``read`` reports the display gone."""
        poller = select.poll()
        poller.register(self._stop_r, select.POLLIN)
        read, report, clock = self._read, self._report, self._clock
        last: tuple[int, int] | None = None
        last_change = clock()
        while True:
            woken = poller.poll(self._idle_check_ms if self.idle else self._interval_ms)
            if self._stopping:
                return
            position = read()
            if position is None:
                return  # the X server went away: the video reports it; buttons end with RECORD
            changed = position != last
            if changed:
                last, last_change = position, clock()
                report(*position)
            if self.idle:
                # Any motion event ends the rest, even one that left the position as it was (the
                # pointer pushed against the screen's edge): reading once per interval bounds what
                # such a stream of events can cost.
                if woken or changed:
                    self._wake_up(poller)
                continue
            if self._waker is not None and clock() - last_change >= self._idle_after:
                self._rest(poller, last)

    def _rest(self, poller: select.poll, last: tuple[int, int] | None) -> None:
        waker = self._waker
        assert waker is not None
        if not waker.arm():
            self._drop_waker()
            return
        # A move between the last read and the arm sent no event: read once more.
        position = self._read()
        if position is not None and position != last:
            if not waker.disarm():
                self._drop_waker()
            return  # the next tick reports it
        poller.register(waker.fileno(), select.POLLIN)
        self.idle = True

    def _wake_up(self, poller: select.poll) -> None:
        waker = self._waker
        assert waker is not None
        poller.unregister(waker.fileno())
        self.idle = False
        if not waker.disarm():
            self._drop_waker()

    def _drop_waker(self) -> None:
        if self._waker is not None:
            self._waker.close()
            self._waker = None

    def stop(self) -> None:
        """End :meth:`run` now (from any thread). Idempotent."""
        self._stopping = True
        with self._pipe_lock:
            if self._pipe_open:
                with contextlib.suppress(OSError):  # the pipe is full: run() is being woken already
                    os.write(self._stop_w, b"x")

    def close(self) -> None:
        """Release the pipe and the waker; call once :meth:`run` has returned."""
        with self._pipe_lock:
            if self._pipe_open:
                self._pipe_open = False
                os.close(self._stop_r)
                os.close(self._stop_w)
        self._drop_waker()
