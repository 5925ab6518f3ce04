"""The X11 pointer listener that costs the same whatever the pointer does.

pynput's X listener decodes every pointer motion event in pure Python
(~0.3 ms each): a mouse moving at 125-1000 Hz cost caprec 13-18 ms of CPU per
second of recording, almost all of its own CPU. The video samples the pointer
once per frame anyway, so this listener does the same:

* buttons (clicks, and scrolls, which X11 sends as buttons 4-7) still come
  from the X RECORD extension, exact and in order, each with its position;
* the position is read with one ``QueryPointer`` round trip per video frame
  on the listener's own connection, and a move is logged only when it changed.

The cost is then bounded by the frame rate (~50 us per read), not by the
mouse's polling rate.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any

# The poller must end with the listener; a read is one short round trip.
POLLER_JOIN_TIMEOUT_S = 1.0
# X11 core event types (X.h): the RECORD range of device events to receive.
_BUTTON_PRESS = 4
_BUTTON_RELEASE = 5


def frame_paced_listener_factory(mouse: Any, fps: float) -> Callable[..., Any]:
    """A pynput-compatible listener factory for the X11 ``mouse`` backend module, sampling moves at ``fps``."""
    base: Any = mouse.Listener
    interval = 1.0 / fps if fps > 0 else 1.0 / 30

    class FramePacedListener(base):  # type: ignore[misc]
        """pynput's X listener for buttons only, plus a pointer reader at the frame rate."""

        # pynput passes this pair as RECORD's device-event range: buttons, no motion.
        _EVENTS = (_BUTTON_PRESS, _BUTTON_RELEASE)

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self._report_move = kwargs.get("on_move")
            super().__init__(*args, **kwargs)
            self._poll_stop = threading.Event()
            self._poller: threading.Thread | None = None

        def _initialize(self, display: Any) -> None:
            super()._initialize(display)
            self._poller = threading.Thread(target=self._poll, name="caprec-cursor-poll", daemon=True)
            self._poller.start()

        def _poll(self) -> None:
            reader = _open_pointer_reader()
            if reader is None:
                return
            read, close = reader
            try:
                last: tuple[int, int] | None = None
                while not self._poll_stop.wait(interval):
                    position = read()
                    if position is None:
                        return  # the X server went away: the video reports it; buttons end with RECORD
                    if position != last and self._report_move is not None:
                        last = position
                        self._report_move(*position)
            finally:
                with contextlib.suppress(Exception):  # closing a dead connection
                    close()

        def stop(self) -> None:
            self._poll_stop.set()
            super().stop()
            poller = self._poller
            if poller is not None and poller is not threading.current_thread():
                poller.join(POLLER_JOIN_TIMEOUT_S)

    return FramePacedListener


PointerReader = tuple[Callable[[], "tuple[int, int] | None"], Callable[[], None]]


def _open_pointer_reader() -> PointerReader | None:
    """A function reading the pointer's root position on a connection of its own, and its closer.

    python-xlib (which pynput brings): ~40 us of CPU per read. libX11 through
    ctypes would halve that, but its default I/O error handler ends the whole
    process when the X server goes away, and caprec must then still finish
    the video and say what happened.
    """
    return _python_xlib_reader()


def _python_xlib_reader() -> PointerReader | None:
    try:
        import Xlib.display

        connection = Xlib.display.Display()
    except Exception:  # no display, no python-xlib: no moves, buttons still work
        return None
    root = connection.screen().root

    def read() -> tuple[int, int] | None:
        try:
            reply = root.query_pointer()
        except Exception:  # the X server went away
            return None
        return (reply.root_x, reply.root_y)

    return read, connection.close
