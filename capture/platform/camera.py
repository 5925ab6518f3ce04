"""What ``--camera DEVICE`` names, per platform: a pure mapping to a :class:`CameraSource`.

======================  ==========================================================
``test``                FFmpeg's test picture (lavfi ``testsrc``), everywhere
Linux                   a V4L2 device: ``/dev/video0``, or its number ``0``
macOS                   an avfoundation video index or name (``caprec devices``)
Windows                 a DirectShow video device name (``caprec devices``)
======================  ==========================================================
"""

from __future__ import annotations

from caprec.capture.errors import SettingError
from caprec.capture.ffmpeg.argv import CameraBackend, CameraSource, Corner

CAMERA_TEST = "test"
V4L2_PREFIX = "/dev/video"
#: The camera picture's width on the video, in pixels.
CAMERA_WIDTH_RANGE = (32, 3840)


def parse_corner(text: str, *, origin: str) -> Corner:
    """``top-left``, ``top-right``, ``bottom-left`` or ``bottom-right`` (any case)."""
    try:
        return Corner(text.strip().lower())
    except ValueError:
        raise SettingError(origin, f"{text!r} is not a corner; use {', '.join(c.value for c in Corner)}") from None


def parse_camera_width(text: str, *, origin: str) -> int:
    """The camera picture's width in pixels: an even whole number in :data:`CAMERA_WIDTH_RANGE`."""
    low, high = CAMERA_WIDTH_RANGE
    if not text.strip().isdigit() or not low <= int(text) <= high or int(text) % 2:
        raise SettingError(origin, f"{text!r} is not an even width from {low} to {high} pixels, e.g. 320")
    return int(text)


def parse_camera(text: str, *, platform: str, origin: str) -> CameraSource:
    """The camera ``text`` names on ``platform`` (a :data:`sys.platform` value)."""
    name = text.strip()
    if not name:
        raise SettingError(origin, "is empty; give test or a camera (caprec devices)")
    if name.lower() == CAMERA_TEST:
        return CameraSource(CameraBackend.TEST)
    if platform == "darwin":
        return CameraSource(CameraBackend.AVFOUNDATION, device=name)
    if platform == "win32":
        return CameraSource(CameraBackend.DSHOW, device=name)
    if name.isdigit():
        return CameraSource(CameraBackend.V4L2, device=f"{V4L2_PREFIX}{int(name)}")
    if not name.startswith("/dev/"):
        raise SettingError(origin, f"{name!r} is not a V4L2 device; give /dev/videoN, its number, or test")
    return CameraSource(CameraBackend.V4L2, device=name)
