"""Where a recording's live stats and warnings go, before anything is drawn.

A recording hands its stats and warnings to one :class:`Display`. The
displays here draw nothing: :class:`QuietDisplay` (``--quiet``),
:class:`TeeDisplay` (the screen and the stats file), :class:`WarningTally`
(the summary's warning count) and :class:`DeferredDisplay`, which makes the
drawing display (:mod:`caprec.ui.display`, rich) on first use. This module
imports no rich: a recording builds its displays before FFmpeg starts, and
what it imports then delays the first frame.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from caprec.capture.record.segment import RecordingStats


class Display(Protocol):
    """Receives a recording's live stats and warnings."""

    def __enter__(self) -> Display: ...
    def __exit__(self, *exc_info: object) -> None: ...
    def update(self, stats: RecordingStats) -> None: ...
    def warn(self, text: str) -> None: ...


class QuietDisplay:
    """Nothing but errors (--quiet)."""

    # Nothing reads the live stats: the recorder need not build them (see :func:`reads_stats`).
    reads_stats = False

    def __enter__(self) -> QuietDisplay:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def update(self, stats: RecordingStats) -> None:
        return None

    def warn(self, text: str) -> None:
        return None


def reads_stats(display: Display) -> bool:
    """Whether ``display`` uses the live stats it is sent; one that says ``reads_stats = False`` does not.

    A recording shown by no one who reads them (``--quiet`` without ``--stats-file``) asks the recorder
    for none: building a snapshot four times a second is ~0.4 ms of CPU per second of recording.
    """
    return bool(getattr(display, "reads_stats", True))


class TeeDisplay:
    """Several displays fed the same stats (the screen and the --stats-file writer)."""

    def __init__(self, *displays: Display) -> None:
        self._displays = displays

    def __enter__(self) -> TeeDisplay:
        for display in self._displays:
            display.__enter__()
        return self

    def __exit__(self, *exc_info: object) -> None:
        for display in reversed(self._displays):
            display.__exit__(*exc_info)

    @property
    def reads_stats(self) -> bool:
        return any(reads_stats(display) for display in self._displays)

    def update(self, stats: RecordingStats) -> None:
        for display in self._displays:
            display.update(stats)

    def warn(self, text: str) -> None:
        for display in self._displays:
            display.warn(text)


class WarningTally(QuietDisplay):
    """Counts the warnings a recording's displays are shown, so the summary says the same as the panel.

    A quiet display otherwise: it reads no stats.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.count = 0
        self.last: str | None = None

    def warn(self, text: str) -> None:
        with self._lock:
            self.count += 1
            self.last = text


class DeferredDisplay:
    """The display ``make`` returns, made and entered when the first stats or warning arrive.

    The recorder sends its first stats just after it has spawned FFmpeg, so
    the live panel (rich, ~20 ms of imports) is built while FFmpeg loads
    rather than before it starts; until then nothing is drawn. Stats and
    warnings come from two threads (the recorder's loop and FFmpeg's stderr
    reader): the lock makes the display once. After :meth:`__exit__` nothing
    more is made.
    """

    def __init__(self, make: Callable[[], Display]) -> None:
        self._make = make
        self._lock = threading.Lock()
        self._display: Display | None = None
        self._closed = False

    def __enter__(self) -> DeferredDisplay:
        return self

    def __exit__(self, *exc_info: object) -> None:
        with self._lock:
            self._closed = True
            display, self._display = self._display, None
        if display is not None:
            display.__exit__(*exc_info)

    def _shown(self) -> Display | None:
        with self._lock:
            if self._display is None and not self._closed:
                display = self._make()
                display.__enter__()
                self._display = display
            return self._display

    @property
    def made(self) -> bool:
        """Whether the display has been made (the first stats or warning arrived)."""
        return self._display is not None

    def update(self, stats: RecordingStats) -> None:
        display = self._shown()
        if display is not None:
            display.update(stats)

    def warn(self, text: str) -> None:
        display = self._shown()
        if display is not None:
            display.warn(text)
