"""The cursor log's format: its name and version, the header's types and the cursor errors.

The log is newline-delimited JSON (``docs/cursor-format.md``): one header
line, then one compact object per event, with ``t`` in milliseconds since the
video's first frame. Only the mouse is recorded, never the keyboard.
:mod:`caprec.capture.cursor.writer` writes it, :mod:`caprec.capture.cursor.reader` reads it
and :mod:`caprec.capture.cursor.listener` feeds the writer from pynput.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from caprec.capture.errors import CaptureError

__all__ = [
    "CURSOR_FORMAT",
    "CURSOR_FORMAT_VERSION",
    "CursorContext",
    "CursorFormatError",
    "CursorUnavailableError",
    "Region",
]

CURSOR_FORMAT = "caprec-cursor"
CURSOR_FORMAT_VERSION = "1.1"  # 1.1 added the "cursor" (shape) event
_UNITS = ("pixels", "points")


class CursorFormatError(CaptureError):
    """A file is not a cursor log this caprec can read (wrong format, newer major version, corrupt line)."""


class CursorUnavailableError(CaptureError):
    """The pointer cannot be observed here (no X display, pynput missing, listener failed to start)."""


@dataclass(frozen=True)
class Region:
    """The captured rectangle in screen coordinates.

    ``x``/``y`` may be negative for monitors left of or above the primary one.
    Use the same unit as the pointer positions (see :attr:`CursorContext.unit`):
    in points, a crop of a Retina display may be fractional (an odd pixel offset).
    """

    x: float
    y: float
    width: float
    height: float

    def __post_init__(self) -> None:
        if self.width <= 0 or self.height <= 0:
            raise ValueError(f"region size must be positive, got {self.width}x{self.height}")


@dataclass(frozen=True)
class CursorContext:
    """Static facts written to the log's header.

    ``unit`` is the unit of both ``region`` and the pointer positions: pynput
    reports pixels on X11 and Windows but points on macOS, where ``scale``
    (e.g. 2.0 on Retina) converts points to video pixels.
    """

    caprec_version: str
    source: str
    region: Region
    screen_width: int | None
    screen_height: int | None
    unit: str = "pixels"
    scale: float | None = None
    fps: float = 30.0

    def __post_init__(self) -> None:
        if self.unit not in _UNITS:
            raise ValueError(f"unit must be one of {', '.join(_UNITS)}, got {self.unit!r}")
        if self.scale is not None and not (math.isfinite(self.scale) and self.scale > 0):
            raise ValueError(f"scale must be a positive number or None, got {self.scale!r}")
        if not (math.isfinite(self.fps) and self.fps > 0):
            raise ValueError(f"fps must be positive, got {self.fps!r}")


