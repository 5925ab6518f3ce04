"""Which screen to capture on this platform, and how big it is."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from caprec.capture.errors import DisplayError
from caprec.capture.ffmpeg.argv import AVFOUNDATION_DEFAULT_SCREEN, Backend
from caprec.capture.platform.x11wire import local_screen_number, wire_screens


def default_backend(platform: str = sys.platform) -> Backend:
    """The screen-capture input FFmpeg offers on ``platform``."""
    if platform == "darwin":
        return Backend.AVFOUNDATION
    if platform == "win32":
        return Backend.GDIGRAB
    return Backend.X11GRAB


def default_screen_device(backend: Backend) -> str:
    """The screen ``backend`` captures when none is named: macOS's first screen by name, else the default."""
    return AVFOUNDATION_DEFAULT_SCREEN if backend is Backend.AVFOUNDATION else ""


def resolve_x11_display(explicit: str | None, environ: Mapping[str, str] = os.environ) -> str:
    """The X display to grab: ``--display``, else ``$DISPLAY``.

    Raises :class:`DisplayError` when there is none, naming a pure Wayland
    session, which x11grab cannot capture.
    """
    display = explicit or environ.get("DISPLAY")
    if display:
        return display if "." in display.rsplit(":", 1)[-1] else f"{display}.0"
    if is_wayland(environ):
        raise DisplayError(
            "this is a Wayland session without XWayland: x11grab cannot capture it; "
            "log in to an X11 session, or use `source` test"
        )
    raise DisplayError("no X display: DISPLAY is not set; set DISPLAY (e.g. :0), pass `display`, or use `source` test")


def is_wayland(environ: Mapping[str, str] = os.environ) -> bool:
    """True in a Wayland session (x11grab then sees only XWayland windows)."""
    return bool(environ.get("WAYLAND_DISPLAY")) or environ.get("XDG_SESSION_TYPE") == "wayland"


def x11_screen_size(display: str) -> tuple[int, int] | None:
    """The size of ``display``'s screen in pixels, or None if it cannot be read.

    A local display is asked over its socket (:mod:`caprec.capture.platform.x11wire`); any other, and every error,
    through python-xlib, which pynput already needs on Linux.
    """
    number = local_screen_number(display)
    screens = wire_screens(display) if number is not None else None
    if screens is not None and number is not None and number < len(screens):
        return screens[number].width, screens[number].height
    try:
        from Xlib import display as xdisplay
        from Xlib.error import ConnectionClosedError, XauthError
        from Xlib.error import DisplayError as XDisplayError
    except ImportError:
        return None
    try:
        # The connection alone (its setup reply holds every screen's size): Xlib's Display would also read
        # the keymap and query and import every extension the server has (~30 round trips and ~10-20 ms
        # of CPU before FFmpeg could start), none of which a screen's size needs.
        conn = xdisplay._BaseDisplay(display)
    # OverflowError: python-xlib turns a display number over 59535 into a TCP port.
    except (XDisplayError, OSError, ValueError, OverflowError):
        raise DisplayError(f"cannot open the X display {display}; check DISPLAY / `display`") from None
    except (ConnectionClosedError, XauthError) as exc:
        # The server refused or dropped the connection (authorization, a server resetting or going away).
        raise DisplayError(f"cannot open the X display {display} ({exc}); check DISPLAY / `display` and "
                           "that the X server accepts you (xauth)") from None
    try:
        screen = conn.info.roots[conn.default_screen]
        return int(screen.width_in_pixels), int(screen.height_in_pixels)
    finally:
        conn.close()
