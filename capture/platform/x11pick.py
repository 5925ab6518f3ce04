"""Point at what to record on X11: click a window, or drag a rectangle (python-xlib).

The pointer and the keyboard are grabbed (a crosshair shows) until a left
click (a window) or a left-button drag (a region, drawn as an outline while
dragging). Escape or a right click cancels: :class:`PickCancelled`. The
grab always ends, also on errors and timeouts.
"""

from __future__ import annotations

import select
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from caprec.capture.errors import DisplayError
from caprec.capture.platform.x11info import x_connection
from caprec.capture.units import Region

#: How long a pick waits for the user before giving up.
PICK_TIMEOUT_S = 120.0
_POLL_S = 0.1
_LEFT, _RIGHT = 1, 3
_ESCAPE_KEYSYM = 0xFF1B
_CROSSHAIR_GLYPH = 34  # X cursor font: XC_crosshair


class PickCancelled(Exception):
    """The user cancelled the pick (Escape, right click) or it timed out; the message says which."""


@contextmanager
def _grabbed(conn: Any, events: int) -> Iterator[Any]:
    """Grab the pointer (crosshair) and the keyboard on the root window; always ungrab."""
    from Xlib import X

    root = conn.screen().root
    font = conn.open_font("cursor")
    cursor = font.create_glyph_cursor(font, _CROSSHAIR_GLYPH, _CROSSHAIR_GLYPH + 1, (65535, 65535, 65535), (0, 0, 0))
    status = root.grab_pointer(False, events, X.GrabModeAsync, X.GrabModeAsync, X.NONE, cursor, X.CurrentTime)
    if status != X.GrabSuccess:
        raise DisplayError("another program holds the pointer; close its menu or grab and pick again")
    root.grab_keyboard(False, X.GrabModeAsync, X.GrabModeAsync, X.CurrentTime)
    try:
        yield root
    finally:
        conn.ungrab_keyboard(X.CurrentTime)
        conn.ungrab_pointer(X.CurrentTime)
        conn.flush()


def _events(conn: Any, timeout: float) -> Iterator[Any]:
    """X events until ``timeout`` seconds pass (then :class:`PickCancelled`)."""
    deadline = time.monotonic() + timeout
    while True:
        while conn.pending_events():
            yield conn.next_event()
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise PickCancelled(f"nothing was picked within {timeout:g} s")
        select.select([conn.fileno()], [], [], min(remaining, _POLL_S))


def _cancelled(conn: Any, event: Any) -> bool:
    from Xlib import X

    if event.type == X.KeyPress:
        return bool(conn.keycode_to_keysym(event.detail, 0) == _ESCAPE_KEYSYM)
    return bool(event.type == X.ButtonPress and event.detail == _RIGHT)


def pick_window(display: str, *, on_ready: Callable[[], None] | None = None,
                timeout: float = PICK_TIMEOUT_S) -> int:
    """The id of the window the user clicks (its client window under a window manager's frame).

    ``on_ready`` is called once the pointer is grabbed. Raises
    :class:`PickCancelled` on Escape, a right click, a click on the bare
    desktop or the timeout; :class:`DisplayError` when the pointer cannot be
    grabbed.
    """
    from Xlib import X

    with x_connection(display) as conn, _grabbed(conn, X.ButtonPressMask) as root:
        if on_ready is not None:
            on_ready()
        for event in _events(conn, timeout):
            if _cancelled(conn, event):
                raise PickCancelled("the pick was cancelled (Escape or right click)")
            if event.type == X.ButtonPress and event.detail == _LEFT:
                if event.child in (0, X.NONE):
                    raise PickCancelled("the click hit the desktop, not a window")
                return _client_window(conn, event.child, root)
    raise AssertionError("unreachable")  # pragma: no cover


def _client_window(conn: Any, window: Any, root: Any) -> int:
    """The titled window inside ``window`` (a window manager's frame holds the client); else ``window``."""
    stack = [window]
    while stack:
        current = stack.pop()
        if current.get_wm_name() or current.get_full_property(conn.intern_atom("_NET_WM_NAME"), 0):
            return int(current.id)
        stack.extend(current.query_tree().children)
    return int(window.id)


def pick_region(display: str, *, on_ready: Callable[[], None] | None = None,
                timeout: float = PICK_TIMEOUT_S) -> Region:
    """The rectangle the user drags with the left button, as dragged (not rounded).

    An outline follows the pointer while dragging. Raises
    :class:`PickCancelled` on Escape, a right click, an empty drag or the
    timeout.
    """
    from Xlib import X

    mask = X.ButtonPressMask | X.ButtonReleaseMask | X.PointerMotionMask
    with x_connection(display) as conn, _grabbed(conn, mask) as root:
        screen = conn.screen()
        # XOR drawing over every window: drawing the same outline twice erases it.
        gc = root.create_gc(function=X.GXxor, foreground=screen.white_pixel ^ screen.black_pixel,
                            subwindow_mode=X.IncludeInferiors, line_width=2)
        if on_ready is not None:
            on_ready()
        start: tuple[int, int] | None = None
        drawn: tuple[int, int, int, int] | None = None
        try:
            for event in _events(conn, timeout):
                if _cancelled(conn, event):
                    raise PickCancelled("the pick was cancelled (Escape or right click)")
                if event.type == X.ButtonPress and event.detail == _LEFT:
                    start = (event.root_x, event.root_y)
                elif start is not None and event.type in (X.MotionNotify, X.ButtonRelease):
                    rect = _rect(start, (event.root_x, event.root_y))
                    if drawn is not None:
                        root.rectangle(gc, *drawn)
                    drawn = None
                    if event.type == X.ButtonRelease:
                        if rect[2] < 1 or rect[3] < 1:
                            raise PickCancelled("the dragged region is empty; drag a rectangle")
                        return Region(width=rect[2], height=rect[3], x=rect[0], y=rect[1])
                    root.rectangle(gc, *rect)
                    drawn = rect
                    conn.flush()
        finally:
            if drawn is not None:
                root.rectangle(gc, *drawn)
                conn.flush()
    raise AssertionError("unreachable")  # pragma: no cover


def _rect(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int, int, int]:
    """The rectangle (x, y, width, height) between two corners, in either order."""
    x, y = min(a[0], b[0]), min(a[1], b[1])
    return x, y, abs(a[0] - b[0]), abs(a[1] - b[1])
