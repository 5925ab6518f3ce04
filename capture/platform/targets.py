"""What to record, resolved: a monitor of several, one window, a picked region.

Pure functions over what the system reports (X screens and RandR monitors
from :func:`caprec.capture.platform.devices_linux.read_x_screens`, windows from
:mod:`caprec.capture.platform.x11info`), so that every choice and every refusal is tested
without a display. Errors are :class:`SettingError` naming the ``origin``
the caller passes (the field as the user gave it).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from caprec.capture.errors import SettingError
from caprec.capture.platform.devices_linux import display_base
from caprec.capture.platform.x11info import XWindow
from caprec.capture.platform.x11wire import XScreen
from caprec.capture.units import Region

#: ``--screen all``: the whole X screen (every monitor on it).
ALL_SCREENS = "all"
#: ``--window pick`` / ``--region pick``: point at it with the mouse.
PICK = "pick"
_WINDOW_ID = re.compile(r"^(0x[0-9a-fA-F]+|[0-9]+)$")
_MAX_LISTED = 8


@dataclass(frozen=True)
class Monitor:
    """One monitor: where it is on its device (an X screen ``:0.1``), and whether it is the primary one."""

    index: int
    name: str
    device: str
    width: int
    height: int
    x: int = 0
    y: int = 0
    primary: bool = False
    whole: bool = True  # it covers its whole device: no region needed

    @property
    def region(self) -> Region | None:
        """The monitor's rectangle on its device, None when it is the whole device."""
        return None if self.whole else Region(width=self.width, height=self.height, x=self.x, y=self.y)

    @property
    def label(self) -> str:
        """``1 HDMI-1 1920x1080+1920+0 on :0.0 (primary)``."""
        primary = " (primary)" if self.primary else ""
        return f"{self.index} {self.name} {self.width}x{self.height}{self.x:+d}{self.y:+d} on {self.device}{primary}"


def x11_monitors(display: str, screens: Sequence[XScreen]) -> list[Monitor]:
    """Every monitor of ``display``, numbered from 0: each X screen's RandR monitors, or the screen itself."""
    base = display_base(display)
    monitors: list[Monitor] = []
    for screen in screens:
        device = f"{base}.{screen.number}"
        for monitor in screen.monitors or ():
            whole = (monitor.x, monitor.y, monitor.width, monitor.height) == (0, 0, screen.width, screen.height)
            monitors.append(Monitor(index=len(monitors), name=monitor.name, device=device, width=monitor.width,
                                    height=monitor.height, x=monitor.x, y=monitor.y, primary=monitor.primary,
                                    whole=whole))
        if not screen.monitors:
            monitors.append(Monitor(index=len(monitors), name=f"screen{screen.number}", device=device,
                                    width=screen.width, height=screen.height))
    return monitors


def _listing(labels: Sequence[str]) -> str:
    shown = "; ".join(labels[:_MAX_LISTED])
    return shown + (f"; and {len(labels) - _MAX_LISTED} more" if len(labels) > _MAX_LISTED else "")


def choose_monitor(choice: str, monitors: Sequence[Monitor], *, origin: str) -> Monitor | None:
    """The monitor ``choice`` names: its number, its name or its device (``:0.1``); None for ``all``.

    Raises :class:`SettingError` when none or several match, listing the monitors.
    """
    text = choice.strip()
    if text.lower() == ALL_SCREENS:
        return None
    known = _listing([monitor.label for monitor in monitors]) or "none"
    if text.isdigit():
        number = int(text)
        if number < len(monitors):
            return monitors[number]
        raise SettingError(origin, f"there is no monitor {number}; monitors here: {known}")
    matches = [m for m in monitors if text.lower() in (m.name.lower(), m.device)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise SettingError(origin, f"no monitor is called {text!r}; monitors here: {known}")
    raise SettingError(origin, f"{text!r} names {len(matches)} monitors; give its number: "
                               f"{_listing([m.label for m in matches])}")


def default_monitor(monitors: Sequence[Monitor], device: str) -> Monitor | None:
    """The monitor recorded when none is asked for: the primary one of ``device``'s screen when it
    has several (else the first of them); None when the screen is one monitor (record it whole)."""
    mine = [monitor for monitor in monitors if monitor.device == device]
    if len(mine) < 2:
        return None
    return next((monitor for monitor in mine if monitor.primary), mine[0])


def even_region(region: Region, *, origin: str) -> Region:
    """``region`` with its width and height rounded down to even numbers (H.264 in yuv420p needs them)."""
    width, height = region.width - region.width % 2, region.height - region.height % 2
    if width < 2 or height < 2:
        raise SettingError(origin, f"the picked region {region} is too small; drag at least 2x2 pixels")
    return Region(width=width, height=height, x=region.x, y=region.y)


def parse_window_id(text: str) -> int | None:
    """``0x200000b`` or ``33554443`` -> the id; None when ``text`` is not an id (a name)."""
    match = _WINDOW_ID.match(text.strip())
    return int(match.group(1), 0) if match else None


def match_windows(query: str, windows: Sequence[XWindow]) -> list[XWindow]:
    """The windows ``query`` names: exact titles first, else a class, else a part of a title (any case)."""
    wanted = query.strip().lower()
    for rule in (lambda w: w.name.lower() == wanted, lambda w: w.wm_class.lower() == wanted,
                 lambda w: wanted in w.name.lower()):
        found = [window for window in windows if rule(window)]
        if found:
            return found
    return []


def choose_window(query: str, windows: Sequence[XWindow], *, origin: str) -> XWindow:
    """The one window ``query`` (a title or class, see :func:`match_windows`) names.

    Raises :class:`SettingError` when none matches or several do (they are listed).
    """
    found = match_windows(query, windows)
    if len(found) == 1:
        return found[0]
    if not found:
        titles = _listing([repr(window.name) for window in windows]) or "none"
        raise SettingError(origin, f"no window is called {query!r}; windows here: {titles}")
    raise SettingError(origin, f"{query!r} matches {len(found)} windows; give one's id: "
                               f"{_listing([window.label for window in found])}")
