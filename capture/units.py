"""Parsing of the values users type: durations, regions, byte sizes.

Each parser takes the raw text and the ``origin`` it came from (a flag, an
environment variable, a config key) so that its error names the culprit.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from caprec.capture.errors import SettingError

# A recording longer than this is almost certainly a typo (e.g. ms for s).
MAX_DURATION_SECONDS = 7 * 24 * 3600.0
MAX_FPS = 240.0
# Sizes above this are "absurd" for a pipe buffer or a read chunk.
MAX_PIPE_BUFFER_BYTES = 256 * 1024 * 1024
MIN_PIPE_BUFFER_BYTES = 4096

_CLOCK_RE = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{1,2}(?:\.\d+)?)$")
_UNITS_RE = re.compile(r"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?!s))?(?:(\d+(?:\.\d+)?)s)?$")
_REGION_RE = re.compile(r"^(\d+)x(\d+)([+-]\d+)([+-]\d+)$")
_SIZE_RE = re.compile(r"^(\d+(?:\.\d+)?)\s*([KMG]i?B?|B)?$", re.IGNORECASE)
_SIZE_FACTORS = {
    "": 1, "B": 1,
    "K": 1024, "KB": 1000, "KI": 1024, "KIB": 1024,
    "M": 1024**2, "MB": 1000**2, "MI": 1024**2, "MIB": 1024**2,
    "G": 1024**3, "GB": 1000**3, "GI": 1024**3, "GIB": 1024**3,
}


@dataclass(frozen=True)
class Region:
    """A rectangle of the screen, in screen pixels.

    ``x`` and ``y`` may be negative: monitors left of or above the primary one.
    """

    width: int
    height: int
    x: int = 0
    y: int = 0

    def __str__(self) -> str:
        return f"{self.width}x{self.height}{self.x:+d}{self.y:+d}"

    @property
    def size(self) -> str:
        """``WxH``, as FFmpeg's ``-video_size`` wants it."""
        return f"{self.width}x{self.height}"


def parse_duration(text: str, *, origin: str = "`duration`") -> float:
    """Parse ``90``, ``1.5``, ``1m30s``, ``2h``, ``00:01:30`` into seconds (> 0)."""
    raw = text.strip().lower()
    seconds: float | None = None
    if re.fullmatch(r"\d+(?:\.\d+)?", raw):
        seconds = float(raw)
    elif (clock := _CLOCK_RE.match(raw)) is not None:
        hours, minutes, secs = clock.groups()
        if int(minutes) < 60 and float(secs) < 60:
            seconds = int(hours or 0) * 3600 + int(minutes) * 60 + float(secs)
    elif raw and (units := _UNITS_RE.match(raw)) is not None:
        h, m, s = (float(part) if part else 0.0 for part in units.groups())
        seconds = h * 3600 + m * 60 + s
    if seconds is None:
        raise SettingError(origin, f"{text!r} is not a duration; use seconds (90), 1m30s or 00:01:30")
    if not seconds > 0:
        raise SettingError(origin, f"{text!r} must be longer than zero; use e.g. 5 or 1m30s")
    if seconds > MAX_DURATION_SECONDS:
        raise SettingError(origin, f"{text!r} is longer than 7 days; use a shorter duration")
    return seconds


def parse_fps(text: str | float, *, origin: str = "`fps`") -> float:
    """Parse a frame rate: a positive number up to :data:`MAX_FPS`."""
    try:
        fps = float(text)
    except (TypeError, ValueError):
        raise SettingError(origin, f"{text!r} is not a number; use a frame rate such as 30") from None
    if not math.isfinite(fps) or fps <= 0 or fps > MAX_FPS:
        raise SettingError(origin, f"{text!r} is out of range; use a frame rate from 1 to {MAX_FPS:g}")
    return fps


def _even(size: int) -> int:
    """The even size to suggest for an odd one: one less, so a region that fitted the screen still does."""
    return max(2, size - size % 2)


def parse_region(text: str, *, origin: str = "`region`") -> Region:
    """Parse ``WxH+X+Y`` (X, Y may be negative: ``1280x720-1920+0``).

    Width and height must be even: H.264 in yuv420p needs even dimensions.
    """
    match = _REGION_RE.match(text.strip())
    if match is None:
        raise SettingError(origin, f"{text!r} is not a region; use WxH+X+Y, e.g. 1280x720+0+0")
    width, height, x, y = (int(part) for part in match.groups())
    if width <= 0 or height <= 0:
        raise SettingError(origin, f"{text!r} has an empty size; width and height must be above zero")
    if width % 2 or height % 2:
        raise SettingError(
            origin, f"{text!r} has an odd width or height; yuv420p needs even sizes, e.g. "
            f"{_even(width)}x{_even(height)}{x:+d}{y:+d}"
        )
    return Region(width=width, height=height, x=x, y=y)


def check_region_fits(region: Region, *, screen_width: int, screen_height: int,
                      origin: str = "`region`") -> None:
    """Refuse a region that does not lie inside a ``screen_width`` x ``screen_height`` screen."""
    if (region.x < 0 or region.y < 0 or region.x + region.width > screen_width
            or region.y + region.height > screen_height):
        raise SettingError(
            origin, f"{region} lies outside the {screen_width}x{screen_height} screen; "
            "pick a region inside it"
        )


def parse_byte_size(text: str | int, *, origin: str, minimum: int = MIN_PIPE_BUFFER_BYTES,
                    maximum: int = MAX_PIPE_BUFFER_BYTES) -> int:
    """Parse ``1048576``, ``512KiB``, ``1MiB``, ``1M`` into bytes within [minimum, maximum]."""
    match = _SIZE_RE.match(str(text).strip())
    if match is None:
        raise SettingError(origin, f"{text!r} is not a size; use bytes or units such as 512KiB or 1MiB")
    number, unit = match.groups()
    size = int(float(number) * _SIZE_FACTORS[(unit or "").upper()])
    if not minimum <= size <= maximum:
        raise SettingError(
            origin, f"{text!r} is out of range; use {format_bytes(minimum)} to {format_bytes(maximum)}"
        )
    return size


def format_bytes(size: float) -> str:
    """``1048576`` -> ``1.0 MiB``; for messages and displays."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(value) < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def format_duration(seconds: float) -> str:
    """``83.4`` -> ``00:01:23.4``."""
    # Round to the tenth shown first: 299.97 is 00:05:00.0, not 00:04:60.0.
    minutes, secs = divmod(round(max(seconds, 0.0), 1), 60)
    hours, minutes = divmod(int(minutes), 60)
    return f"{hours:02d}:{minutes:02d}:{secs:04.1f}"
