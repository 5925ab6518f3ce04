"""What an X display shows: its top-level windows and where they are (python-xlib).

python-xlib comes with pynput on Linux. Every function opens its own
connection and closes it; errors become :class:`DisplayError` (no display)
or :class:`WindowGone` (the window does not exist, or no longer).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from caprec.capture.errors import DisplayError


class WindowGone(Exception):
    """The X window does not exist (or no longer)."""


@dataclass(frozen=True)
class XWindow:
    """A viewable X window with a title: its id, title, class and rectangle on the root window."""

    id: int
    name: str
    wm_class: str
    x: int
    y: int
    width: int
    height: int

    @property
    def label(self) -> str:
        """``0x200000b 'xclock' (XClock) 200x150+30+40``: how a message names it."""
        return f"{self.id:#x} {self.name!r} ({self.wm_class}) {self.width}x{self.height}{self.x:+d}{self.y:+d}"


@contextmanager
def x_connection(display: str, *, setup_only: bool = False) -> Iterator[Any]:
    """An open python-xlib connection to ``display``, closed at the end.

    ``setup_only``: the bare connection (python-xlib's protocol display: its
    ``info`` holds the screens; requests are sent by hand). A full ``Display``
    also reads the keymap and queries and imports every extension the server
    has, ~30 round trips and 10-20 ms of CPU that a recording's start waited for.
    """
    try:
        from Xlib import display as xdisplay
        from Xlib.error import DisplayError as XDisplayError
    except ImportError:
        raise DisplayError("python-xlib is not installed (pip install python-xlib)") from None
    try:
        conn = xdisplay._BaseDisplay(display) if setup_only else xdisplay.Display(display)
    # OverflowError: python-xlib turns a display number over 59535 into a TCP port.
    except (XDisplayError, OSError, ValueError, OverflowError) as exc:
        raise DisplayError(f"cannot open the X display {display} ({exc}); check DISPLAY") from None
    try:
        yield conn
    finally:
        conn.close()


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _describe(conn: Any, window: Any) -> XWindow | None:
    """The window as :class:`XWindow` if it is viewable and titled; None otherwise."""
    from Xlib import X

    attrs = window.get_attributes()
    if attrs.map_state != X.IsViewable:
        return None
    found = _read(conn, window)
    return found if found.name else None


def _read(conn: Any, window: Any) -> XWindow:
    """A window's title (``_NET_WM_NAME``, else ``WM_NAME``), class and rectangle on the root window."""
    net_name = window.get_full_property(conn.intern_atom("_NET_WM_NAME"), conn.intern_atom("UTF8_STRING"))
    name = _text(net_name.value) if net_name is not None else _text(window.get_wm_name())
    wm_class = window.get_wm_class()
    geometry = window.get_geometry()
    origin = window.translate_coords(conn.screen().root, 0, 0)
    return XWindow(id=int(window.id), name=name, wm_class=wm_class[1] if wm_class else "",
                   x=-int(origin.x), y=-int(origin.y), width=int(geometry.width), height=int(geometry.height))


def list_windows(display: str) -> list[XWindow]:
    """The viewable, titled windows of ``display``'s screen, top-level first (children of window manager frames too)."""
    from Xlib.error import XError

    found: list[XWindow] = []
    with x_connection(display) as conn:
        stack = list(reversed(conn.screen().root.query_tree().children))
        while stack:
            window = stack.pop()
            try:
                described = _describe(conn, window)
                children = window.query_tree().children
            except XError:
                continue  # closed while we looked
            if described is not None:
                found.append(described)
                continue
            stack.extend(reversed(children))
    return found


def window_info(display: str, window_id: int) -> XWindow:
    """Window ``window_id`` of ``display``; raises :class:`WindowGone` when it does not exist."""
    from Xlib.error import XError

    with x_connection(display) as conn:
        window = conn.create_resource_object("window", window_id)
        try:
            return _read(conn, window)
        except XError:
            raise WindowGone(f"no window {window_id:#x} on {display}") from None


def window_end_note(display: str, window_id: int) -> str | None:
    """Why x11grab stopped recording window ``window_id`` by itself: it was closed, or shrank (or was
    hidden); None when the display itself is gone (that is a failure, not the window's end)."""
    kept = "the recording ends there and everything up to it is saved"
    try:
        window = window_info(display, window_id)
    except WindowGone:
        return f"the window {window_id:#x} was closed; {kept}"
    except DisplayError:
        return None
    return f"the window {window.name!r} was resized to {window.width}x{window.height} or hidden; {kept}"
