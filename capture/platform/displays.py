"""The geometry of the displays on macOS and Windows, and where the pointer falls in the video.

pynput reports the pointer in one global coordinate space: on macOS in
*points* with the origin at the main display's top-left (displays left of or
above it have negative origins), on Windows in physical pixels of the virtual
screen (the primary monitor's top-left is 0,0). The video, though, is in
pixels of one display (avfoundation, ddagrab) or of the virtual screen
(gdigrab). :func:`pointer_area` turns a capture (backend, device, crop) and
the display list into the rectangle the cursor log's header needs, in the
pointer's unit, with the scale from that unit to video pixels.

Reading the displays needs the platform: :func:`display_reader` returns the
backend for ``platform`` (Quartz through pyobjc on macOS, which pynput
installs there; ctypes on Windows). Both are imported lazily, and tests hand
in their own reader with made-up geometry.
"""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from caprec.capture.errors import CaptureError
from caprec.capture.ffmpeg.argv import Backend
from caprec.capture.units import Region

#: avfoundation names screen N "Capture screen N" (after the cameras in its index list).
AVF_SCREEN_PREFIX = "Capture screen "
_AVF_SCREEN = re.compile(r"^Capture screen (\d+)$")
# CGGetActiveDisplayList's capacity: far more displays than a Mac can drive.
MAX_DISPLAYS = 32
# Windows: PROCESS_PER_MONITOR_DPI_AWARE, so that monitor rectangles are physical pixels (as gdigrab captures).
_PER_MONITOR_DPI_AWARE = 2
_MONITORINFOF_PRIMARY = 1
POINTS = "points"
PIXELS = "pixels"


class GeometryUnavailable(CaptureError):
    """The displays' geometry cannot be read here, or the captured display is not among them."""


@dataclass(frozen=True)
class DisplayInfo:
    """One display, in the order the platform lists it.

    ``x``/``y``/``width``/``height`` are in the pointer's unit (points on
    macOS, pixels on Windows) and global coordinates (negative left of or
    above the main display); ``pixel_width``/``pixel_height`` are what a
    capture of the whole display yields.
    """

    x: float
    y: float
    width: float
    height: float
    pixel_width: int
    pixel_height: int
    main: bool = False

    @property
    def scale(self) -> float:
        """Video pixels per pointer unit (2.0 on a Retina display, 1.0 on Windows)."""
        return self.pixel_width / self.width


DisplayReader = Callable[[], list[DisplayInfo]]


@dataclass(frozen=True)
class PointerArea:
    """The captured rectangle in the pointer's coordinates: what the cursor log's header says.

    ``x``/``y``/``width``/``height`` are in ``unit``; ``scale`` converts
    ``unit`` to video pixels; ``screen`` is the captured display's (or
    desktop's) size in ``unit``.
    """

    x: float
    y: float
    width: float
    height: float
    unit: str
    scale: float
    screen: tuple[int, int]


def avfoundation_screen_device(index: int) -> str:
    """The avfoundation device name of screen ``index``: ``Capture screen 0`` (avfoundation matches names)."""
    return f"{AVF_SCREEN_PREFIX}{index}"


def avfoundation_screen_index(device: str) -> int | None:
    """``Capture screen 2`` -> 2; None for anything else (a bare index counts cameras first, so it says nothing)."""
    match = _AVF_SCREEN.match(device.strip())
    return int(match.group(1)) if match is not None else None


def _exact(value: float) -> float:
    """An integral float as an int (the header then says 1440, not 1440.0)."""
    return int(value) if float(value).is_integer() else value


def _even(value: int) -> int:
    return value - value % 2


def _pick(displays: Sequence[DisplayInfo], index: int, what: str) -> DisplayInfo:
    if not 0 <= index < len(displays):
        raise GeometryUnavailable(f"{what} {index} is not among the {len(displays)} display(s) found")
    return displays[index]


def _within(display: DisplayInfo, crop: Region, what: str) -> None:
    if crop.x + crop.width > display.pixel_width or crop.y + crop.height > display.pixel_height:
        raise GeometryUnavailable(f"region {crop} does not fit {what} "
                                  f"({display.pixel_width}x{display.pixel_height} pixels)")


def pointer_area(*, backend: Backend, device: str, region: Region | None,
                 displays: Sequence[DisplayInfo]) -> PointerArea:
    """Where the video of ``backend``/``device`` (cropped to ``region``, in video pixels) lies in pointer space.

    - avfoundation: ``device`` must be ``Capture screen N`` (display N of
      Quartz's active list, avfoundation's own order); ``region`` is in the
      display's pixels and is converted to points with the display's scale,
      then moved by the display's origin.
    - gdigrab ``desktop``: ``region`` is already in virtual-screen pixels;
      without one, the bounding box of every monitor (even-sized, as the
      argv crops it).
    - ddagrab: ``device`` is the output index; ``region`` is relative to
      that monitor.

    Raises :class:`GeometryUnavailable` when the captured area cannot be
    placed (a bare avfoundation index, a gdigrab window, an unknown display).
    """
    if backend is Backend.AVFOUNDATION:
        index = avfoundation_screen_index(device)
        if index is None:
            raise GeometryUnavailable(f"the screen device {device!r} is an avfoundation index, which counts cameras "
                                      "first; name it 'Capture screen N' to place the pointer")
        display = _pick(displays, index, "screen")
        scale = display.scale
        crop = region or Region(_even(display.pixel_width), _even(display.pixel_height), 0, 0)
        _within(display, crop, f"screen {index}")
        return PointerArea(x=_exact(display.x + crop.x / scale), y=_exact(display.y + crop.y / scale),
                           width=_exact(crop.width / scale), height=_exact(crop.height / scale), unit=POINTS,
                           scale=_exact(scale), screen=(round(display.width), round(display.height)))
    if backend is Backend.GDIGRAB:
        if device not in ("", "desktop"):
            raise GeometryUnavailable(f"the window {device!r} moves; only the desktop can be placed")
        if not displays:
            raise GeometryUnavailable("no monitor was found")
        left = min(d.x for d in displays)
        top = min(d.y for d in displays)
        width = round(max(d.x + d.width for d in displays) - left)
        height = round(max(d.y + d.height for d in displays) - top)
        if region is not None:
            return PointerArea(x=region.x, y=region.y, width=region.width, height=region.height, unit=PIXELS,
                               scale=1, screen=(width, height))
        return PointerArea(x=_exact(left), y=_exact(top), width=_even(width), height=_even(height), unit=PIXELS,
                           scale=1, screen=(width, height))
    if backend is Backend.DDAGRAB:
        # ddagrab numbers DXGI outputs; Windows lists the primary first in both enumerations.
        display = _pick(displays, int(device or "0"), "output")
        crop = region or Region(display.pixel_width, display.pixel_height, 0, 0)
        _within(display, crop, f"output {device or '0'}")
        return PointerArea(x=_exact(display.x + crop.x), y=_exact(display.y + crop.y), width=crop.width,
                           height=crop.height, unit=PIXELS, scale=1,
                           screen=(display.pixel_width, display.pixel_height))
    raise GeometryUnavailable(f"{backend} has no display geometry here")


def captured_display(*, backend: Backend, device: str, displays: Sequence[DisplayInfo]) -> DisplayInfo | None:
    """The one display an avfoundation screen (by name) or a ddagrab output captures; None when unknown."""
    if backend is Backend.AVFOUNDATION:
        index = avfoundation_screen_index(device)
    elif backend is Backend.DDAGRAB:
        index = int(device or "0")
    else:
        return None
    return displays[index] if index is not None and 0 <= index < len(displays) else None


def display_reader(platform: str = sys.platform) -> DisplayReader:
    """The display list of ``platform`` (the reader raises :class:`GeometryUnavailable` when it cannot read it)."""
    if platform == "darwin":
        return read_quartz_displays
    if platform == "win32":
        return read_windows_monitors

    def unsupported() -> list[DisplayInfo]:
        raise GeometryUnavailable(f"no display geometry reader for {platform}")

    return unsupported


def read_quartz_displays() -> list[DisplayInfo]:
    """macOS: Quartz's active displays in avfoundation's order, bounds in points, sizes in pixels."""
    try:
        quartz: Any = importlib.import_module("Quartz")
    except ImportError:
        raise GeometryUnavailable("pyobjc's Quartz is missing (pip install pyobjc-framework-Quartz)") from None
    error, ids, count = quartz.CGGetActiveDisplayList(MAX_DISPLAYS, None, None)
    if error != 0:
        raise GeometryUnavailable(f"CGGetActiveDisplayList failed (CGError {error})")
    main = quartz.CGMainDisplayID()
    displays: list[DisplayInfo] = []
    for display_id in list(ids)[:count]:
        bounds = quartz.CGDisplayBounds(display_id)
        # CGDisplayPixelsWide reports points for a HiDPI mode on current macOS;
        # the mode's pixel size is what AVCaptureScreenInput delivers.
        mode = quartz.CGDisplayCopyDisplayMode(display_id)
        if mode is not None:
            pixels = (int(quartz.CGDisplayModeGetPixelWidth(mode)), int(quartz.CGDisplayModeGetPixelHeight(mode)))
        else:
            pixels = (int(quartz.CGDisplayPixelsWide(display_id)), int(quartz.CGDisplayPixelsHigh(display_id)))
        displays.append(DisplayInfo(x=float(bounds.origin.x), y=float(bounds.origin.y),
                                    width=float(bounds.size.width), height=float(bounds.size.height),
                                    pixel_width=pixels[0], pixel_height=pixels[1], main=display_id == main))
    if not displays:
        raise GeometryUnavailable("Quartz lists no active display")
    return displays


def read_windows_monitors() -> list[DisplayInfo]:
    """Windows: the monitors (EnumDisplayMonitors) in physical virtual-screen pixels, primary first.

    Makes the process per-monitor DPI aware first, so that rectangles are
    physical pixels like gdigrab's frames and pynput's hook positions.
    """
    if sys.platform != "win32":
        raise GeometryUnavailable("EnumDisplayMonitors exists only on Windows")
    import ctypes
    from ctypes import wintypes

    user32 = ctypes.windll.user32
    try:
        ctypes.windll.shcore.SetProcessDpiAwareness(_PER_MONITOR_DPI_AWARE)
    except (AttributeError, OSError):  # before Windows 8.1
        user32.SetProcessDPIAware()

    class MONITORINFO(ctypes.Structure):
        _fields_ = [("cbSize", wintypes.DWORD), ("rcMonitor", wintypes.RECT), ("rcWork", wintypes.RECT),
                    ("dwFlags", wintypes.DWORD)]

    found: list[DisplayInfo] = []

    def on_monitor(monitor: Any, hdc: Any, rect: Any, data: Any) -> bool:
        info = MONITORINFO()
        info.cbSize = ctypes.sizeof(MONITORINFO)
        if user32.GetMonitorInfoW(monitor, ctypes.byref(info)):
            r = info.rcMonitor
            width, height = r.right - r.left, r.bottom - r.top
            found.append(DisplayInfo(x=r.left, y=r.top, width=width, height=height, pixel_width=width,
                                     pixel_height=height, main=bool(info.dwFlags & _MONITORINFOF_PRIMARY)))
        return True

    callback_type = ctypes.WINFUNCTYPE(wintypes.BOOL, wintypes.HMONITOR, wintypes.HDC,
                                       ctypes.POINTER(wintypes.RECT), wintypes.LPARAM)
    if not user32.EnumDisplayMonitors(None, None, callback_type(on_monitor), 0) or not found:
        raise GeometryUnavailable("EnumDisplayMonitors listed no monitor")
    return sorted(found, key=lambda display: not display.main)  # stable: the primary first
