"""The X11 pointer, read cheaply: a C round trip for its position, XInput2 motion as a wake-up.

* :func:`open_pointer_reader` reads the pointer's root position with
  libxcb's ``xcb_query_pointer`` through ctypes: ~10 us of CPU a read against
  ~50 us for python-xlib's pure-Python request building and reply parsing.
  libxcb (unlike libX11) never ends the process when the X server goes away:
  a lost connection is a NULL reply, so caprec can still finish the video and
  say what happened. Where libxcb cannot be loaded, python-xlib (which
  pynput brings) reads instead.
* :class:`MotionWaker` selects XInput2 motion on the root window of a
  connection of its own, so that a sampler waiting for an idle pointer to
  move sleeps in ``poll()`` instead of reading it every frame. Raw motion
  comes from every physical device whatever window is under the pointer;
  core-style motion also covers warps (``XWarpPointer``, e.g. ``xdotool
  mousemove``) over the root window. The sampler selects it only while idle,
  so a moving pointer sends no events to decode in Python.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
from collections.abc import Callable
from typing import Any

__all__ = ["MotionWaker", "PointerReader", "open_motion_waker", "open_pointer_reader"]

# A read returns the root position, or None once the X server is gone.
PointerReader = tuple[Callable[[], "tuple[int, int] | None"], Callable[[], None]]

# XInput 2.1 is the first version that sends raw events to the root window
# outside grabs; 2.2 is what servers since 2012 speak.
_XI_MAJOR = 2
_XI_MINOR = 2
# XI2 event masks (XI2.h): XI_Motion = 6, XI_RawMotion = 17.
_XI_MOTION_MASK = 1 << 6
_XI_RAW_MOTION_MASK = 1 << 17
_XI_ALL_MASTER_DEVICES = 1


class _Cookie(ctypes.Structure):
    _fields_ = [("sequence", ctypes.c_uint)]


class _QueryPointerReply(ctypes.Structure):
    # xcb_query_pointer_reply_t (xproto.h)
    _fields_ = [
        ("response_type", ctypes.c_uint8), ("same_screen", ctypes.c_uint8), ("sequence", ctypes.c_uint16),
        ("length", ctypes.c_uint32), ("root", ctypes.c_uint32), ("child", ctypes.c_uint32),
        ("root_x", ctypes.c_int16), ("root_y", ctypes.c_int16), ("win_x", ctypes.c_int16),
        ("win_y", ctypes.c_int16), ("mask", ctypes.c_uint16), ("pad", ctypes.c_uint8 * 2),
    ]


class _ScreenIterator(ctypes.Structure):
    # xcb_screen_iterator_t: data points at an xcb_screen_t whose first field is the root window.
    _fields_ = [("data", ctypes.POINTER(ctypes.c_uint32)), ("rem", ctypes.c_int), ("index", ctypes.c_int)]


def _load_xcb(name: str | None) -> Any:
    lib = ctypes.CDLL(name or "libxcb.so.1")
    lib.xcb_connect.restype = ctypes.c_void_p
    lib.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_int)]
    lib.xcb_connection_has_error.restype = ctypes.c_int
    lib.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
    lib.xcb_disconnect.restype = None
    lib.xcb_disconnect.argtypes = [ctypes.c_void_p]
    lib.xcb_get_setup.restype = ctypes.c_void_p
    lib.xcb_get_setup.argtypes = [ctypes.c_void_p]
    lib.xcb_setup_roots_iterator.restype = _ScreenIterator
    lib.xcb_setup_roots_iterator.argtypes = [ctypes.c_void_p]
    lib.xcb_screen_next.restype = None
    lib.xcb_screen_next.argtypes = [ctypes.POINTER(_ScreenIterator)]
    lib.xcb_query_pointer.restype = _Cookie
    lib.xcb_query_pointer.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
    lib.xcb_query_pointer_reply.restype = ctypes.POINTER(_QueryPointerReply)
    lib.xcb_query_pointer_reply.argtypes = [ctypes.c_void_p, _Cookie, ctypes.c_void_p]
    return lib


def _xcb_reader(library: str | None = None) -> PointerReader | None:
    """libxcb's QueryPointer through ctypes, or None if libxcb or the display is not there."""
    try:
        xcb = _load_xcb(library)
        libc = ctypes.CDLL(None)
        free = libc.free
        free.argtypes = [ctypes.c_void_p]
        free.restype = None
    except (OSError, AttributeError):  # no libxcb here, or one without these symbols
        return None
    screen = ctypes.c_int(0)
    conn = xcb.xcb_connect(None, ctypes.byref(screen))
    if not conn:
        return None
    if xcb.xcb_connection_has_error(conn):
        xcb.xcb_disconnect(conn)
        return None
    roots = xcb.xcb_setup_roots_iterator(xcb.xcb_get_setup(conn))
    for _ in range(screen.value):
        if roots.rem <= 1:
            break
        xcb.xcb_screen_next(ctypes.byref(roots))
    root = roots.data[0]
    query, reply_of = xcb.xcb_query_pointer, xcb.xcb_query_pointer_reply

    def read() -> tuple[int, int] | None:
        reply = reply_of(conn, query(conn, root), None)
        if not reply:  # the connection broke (QueryPointer on the root window has no other error)
            return None
        value = reply.contents
        position = (value.root_x, value.root_y)
        free(reply)
        return position

    closed = False

    def close() -> None:
        nonlocal closed
        if not closed:
            closed = True
            xcb.xcb_disconnect(conn)

    return read, close


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

    def close() -> None:
        with contextlib.suppress(Exception):  # already closed, or the connection is dead
            connection.close()

    return read, close


def open_pointer_reader(*, xcb_library: str | None = None) -> PointerReader | None:
    """A function reading the pointer's root position on a connection of its own, and its closer.

    libxcb through ctypes when it loads (``xcb_library`` names another
    library file, for tests), python-xlib otherwise; None without a display.
    """
    return _xcb_reader(xcb_library) or _python_xlib_reader()


class MotionWaker:
    """XInput2 pointer motion on the root window, selected only while :meth:`arm`-ed.

    Poll :meth:`fileno` for input: it becomes readable at the first motion
    after :meth:`arm`. :meth:`disarm` deselects and discards what arrived.
    Every method returns False (or raises nothing) once the connection broke;
    the sampler then falls back to reading every frame.
    """

    def __init__(self, display: Any, root: Any) -> None:
        self._display = display
        self._root = root
        self.armed = False

    def fileno(self) -> int:
        """The connection's socket, readable when an event arrived."""
        return int(self._display.fileno())

    def _select(self, mask: int) -> bool:
        try:
            self._root.xinput_select_events([(_XI_ALL_MASTER_DEVICES, mask)])
            self._display.flush()
        except Exception:  # the X server went away
            return False
        return True

    def arm(self) -> bool:
        """Ask for motion events; True if the request went out."""
        self.armed = self._select(_XI_MOTION_MASK | _XI_RAW_MOTION_MASK)
        return self.armed

    def disarm(self) -> bool:
        """Stop motion events and drop those already received; True if the connection still works."""
        self.armed = False
        return self._select(0) and self.drain()

    def drain(self) -> bool:
        """Read and drop the events received so far (decoded by python-xlib: only a few, once per wake)."""
        try:
            while self._display.pending_events():
                self._display.next_event()
        except Exception:  # the X server went away
            return False
        return True

    def close(self) -> None:
        """Close the connection."""
        with contextlib.suppress(Exception):  # closing a dead connection
            self._display.close()


def open_motion_waker() -> MotionWaker | None:
    """A :class:`MotionWaker` on a new connection, or None without XInput >= 2.1 (or a display)."""
    try:
        import Xlib.display
        from Xlib.ext import xinput

        display = Xlib.display.Display()
    except Exception:  # no display or no python-xlib: the sampler reads every frame
        return None
    try:
        if not display.has_extension("XInputExtension"):
            display.close()
            return None
        # python-xlib's own query_version announces 2.0, which gets no raw events outside grabs.
        version = xinput.XIQueryVersion(display=display.display,
                                        opcode=display.display.get_extension_major("XInputExtension"),
                                        major_version=_XI_MAJOR, minor_version=_XI_MINOR)
        if (version.major_version, version.minor_version) < (2, 1):
            display.close()
            return None
        return MotionWaker(display, display.screen().root)
    except Exception:  # an X error or a lost connection while setting up: no waker
        with contextlib.suppress(Exception):
            display.close()
        return None
