"""Windows devices: gdigrab's ``desktop`` and its monitors, then DirectShow's cameras and microphones.

Monitors come from EnumDisplayMonitors (:func:`caprec.capture.platform.displays.read_windows_monitors`),
in physical pixels relative to the primary monitor; DirectShow devices from
``ffmpeg -list_devices true -f dshow -i dummy``, in either of FFmpeg's formats.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from caprec.capture.errors import DeviceError
from caprec.capture.ffmpeg.argv import Backend
from caprec.capture.ffmpeg.process import run_tool
from caprec.capture.platform.displays import DisplayInfo
from caprec.capture.platform.listing import Device, DeviceKind, Runner, last_line, log_lines, run_listing

DESKTOP_ID = "desktop"
DSHOW = "dshow"
_DSHOW_HEADER = re.compile(r"^DirectShow (video|audio) devices")
_DSHOW_DEVICE = re.compile(r'^"(.*)"(?:\s+\(([^()]*)\))?\s*$')
_DSHOW_ALTERNATIVE = re.compile(r'^Alternative name\s+"(.*)"\s*$')
_UNKNOWN_FORMAT = "Unknown input format"


def windows_monitors(displays: Sequence[DisplayInfo]) -> list[Device]:
    """Each monitor of a Windows desktop with more than one, as a gdigrab ``desktop`` region."""
    if len(displays) < 2:
        return []
    devices = []
    for number, display in enumerate(displays):
        x, y = round(display.x), round(display.y)
        primary = " (primary)" if display.main else ""
        devices.append(Device(kind=DeviceKind.SCREEN, backend=str(Backend.GDIGRAB), id=DESKTOP_ID,
                              name=f"monitor {number}{primary}", size=(display.pixel_width, display.pixel_height),
                              region=f"{display.pixel_width}x{display.pixel_height}{x:+d}{y:+d}"))
    return devices



def _dshow_kinds(types: str) -> list[DeviceKind]:
    """``video`` / ``audio`` / ``audio, video`` / ``none`` -> the kinds a new-format line names."""
    words = {word.strip() for word in types.split(",")}
    return [kind for word, kind in (("video", DeviceKind.VIDEO), ("audio", DeviceKind.AUDIO)) if word in words]



def parse_dshow(text: str) -> list[Device]:
    """Devices from ``ffmpeg -list_devices true -f dshow -i dummy``, in either format.

    FFmpeg before 4.4 groups names under ``DirectShow video devices`` and
    ``DirectShow audio devices`` headers; later versions print ``"Name"
    (video)`` / ``(audio)`` / ``(audio, video)`` / ``(none)`` per device.
    Both follow each name with an ``Alternative name "@device_..."`` line.
    A device of both types is listed once per type; ``(none)`` devices are
    skipped. DirectShow video devices are cameras or virtual cameras, not
    screens (gdigrab's ``desktop`` is the screen).
    """
    devices: list[Device] = []
    section: DeviceKind | None = None
    last: list[int] = []  # indexes of the devices the next "Alternative name" belongs to
    for line in log_lines(text):
        header = _DSHOW_HEADER.match(line)
        if header is not None:
            section = DeviceKind.VIDEO if header.group(1) == "video" else DeviceKind.AUDIO
            last = []
            continue
        alternative = _DSHOW_ALTERNATIVE.match(line)
        if alternative is not None:
            for index in last:
                devices[index] = _with_alternative(devices[index], alternative.group(1))
            last = []
            continue
        match = _DSHOW_DEVICE.match(line)
        if match is None:
            continue
        name, types = match.groups()
        kinds = _dshow_kinds(types) if types is not None else ([section] if section is not None else [])
        last = []
        for kind in kinds:
            last.append(len(devices))
            devices.append(Device(kind=kind, backend=DSHOW, id=name, name=name))
    return devices



def _with_alternative(device: Device, alternative: str) -> Device:
    return Device(kind=device.kind, backend=device.backend, id=device.id, name=device.name, size=device.size,
                  region=device.region, alternative=alternative)



def dshow_listed(text: str) -> bool:
    """Whether ``text`` came from a dshow device listing (a header or a device line)."""
    return any(_DSHOW_HEADER.match(line) or _DSHOW_DEVICE.match(line) for line in log_lines(text))



def gdigrab_desktop() -> Device:
    """gdigrab's ``desktop``: every monitor, always there on Windows."""
    return Device(kind=DeviceKind.SCREEN, backend=str(Backend.GDIGRAB), id=DESKTOP_ID,
                  name="the whole desktop (all monitors)")



def list_dshow(ffmpeg_path: str, *, runner: Runner = run_tool) -> list[Device]:
    """Run the DirectShow listing; an ffmpeg without dshow raises :class:`DeviceError`."""
    text = run_listing([ffmpeg_path, "-hide_banner", "-list_devices", "true", "-f", "dshow", "-i", "dummy"], runner)
    # Without devices the new format prints nothing at all, so only a missing dshow is an error.
    if not dshow_listed(text) and _UNKNOWN_FORMAT in text:
        raise DeviceError(f"{ffmpeg_path} has no DirectShow input: {last_line(text)}")
    return parse_dshow(text)
