"""What planning a recording asks the system (ffmpeg's version and encoders, the screen size), asked once.

A batch plan of thousands of captures shares one :class:`Probes`, so FFmpeg
is probed once and each X display is sized once, not once per capture; and
across runs the ffmpeg probe comes from the on-disk :class:`ProbeCache`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field

from caprec.capture.ffmpeg.binary import FFmpegBinary, cached_probe, find_ffmpeg, probe_ffmpeg
from caprec.capture.ffmpeg.probe_cache import ProbeCache, default_cache_dir
from caprec.capture.platform.screen import x11_screen_size


@dataclass
class Probes:
    """Remembers each answer for the life of one command (one recording or one batch).

    ``cache`` keeps the ffmpeg probe between runs (None: probe every time).
    """

    cache: ProbeCache | None = None
    _ffmpeg: dict[tuple[str | None, str], FFmpegBinary] = field(default_factory=dict)
    _screens: dict[str, tuple[int, int] | None] = field(default_factory=dict)
    _checked: set[Hashable] = field(default_factory=set)

    @classmethod
    def for_environ(cls, environ: Mapping[str, str]) -> Probes:
        """Probes with the user's cache directory (``XDG_CACHE_HOME`` and the platform's equivalents)."""
        return cls(cache=ProbeCache(default_cache_dir(environ)))

    def ffmpeg(self, *, explicit: str | None, explicit_origin: str) -> FFmpegBinary:
        """:func:`caprec.capture.ffmpeg.binary.find_ffmpeg`, once per distinct request.

        ``explicit`` is the resolved ``ffmpeg`` setting (flag, ``CAPREC_FFMPEG``, config key) and
        ``explicit_origin`` where it came from.
        """
        key = (explicit, explicit_origin)
        if key not in self._ffmpeg:
            probe = probe_ffmpeg if self.cache is None else functools.partial(cached_probe, cache=self.cache)
            self._ffmpeg[key] = find_ffmpeg(explicit=explicit, explicit_origin=explicit_origin, probe=probe)
        return self._ffmpeg[key]

    def screen_size(self, display: str) -> tuple[int, int] | None:
        """:func:`caprec.capture.platform.screen.x11_screen_size`, once per display."""
        if display not in self._screens:
            self._screens[display] = x11_screen_size(display)
        return self._screens[display]

    def once(self, key: Hashable, check: Callable[[], None]) -> None:
        """Run ``check`` (it raises when the answer is no) the first time ``key`` is asked; later, nothing."""
        if key not in self._checked:
            check()
            self._checked.add(key)
