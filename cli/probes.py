"""What planning a recording asks the system (ffmpeg's version and encoders, the screen size), asked once.

A batch plan of thousands of captures shares one :class:`Probes`, so FFmpeg
is probed once and each X display is sized once, not once per capture.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from capture.ffmpeg_bin import ENV_FFMPEG, FFmpegBinary, find_ffmpeg
from capture.screen import x11_screen_size


@dataclass
class Probes:
    """Remembers each answer for the life of one command (one recording or one batch)."""

    _ffmpeg: dict[tuple[str | None, str, str | None], FFmpegBinary] = field(default_factory=dict)
    _screens: dict[str, tuple[int, int] | None] = field(default_factory=dict)

    def ffmpeg(self, *, explicit: str | None, explicit_origin: str, environ: Mapping[str, str]) -> FFmpegBinary:
        """:func:`capture.ffmpeg_bin.find_ffmpeg`, once per distinct request."""
        key = (explicit, explicit_origin, environ.get(ENV_FFMPEG))
        if key not in self._ffmpeg:
            self._ffmpeg[key] = find_ffmpeg(explicit=explicit, explicit_origin=explicit_origin, environ=environ)
        return self._ffmpeg[key]

    def screen_size(self, display: str) -> tuple[int, int] | None:
        """:func:`capture.screen.x11_screen_size`, once per display."""
        if display not in self._screens:
            self._screens[display] = x11_screen_size(display)
        return self._screens[display]
