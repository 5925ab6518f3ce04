"""macOS devices: avfoundation's listing (``ffmpeg -f avfoundation -list_devices true -i ""``).

Screens are the ``Capture screen N`` video devices, by name, sized from
Quartz; cameras are the other video devices, then the microphones.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from caprec.capture.errors import DeviceError
from caprec.capture.ffmpeg.argv import Backend
from caprec.capture.ffmpeg.process import run_tool
from caprec.capture.platform.displays import DisplayInfo, avfoundation_screen_index
from caprec.capture.platform.listing import Device, DeviceKind, Runner, last_line, log_lines, run_listing

_AVF_HEADER = re.compile(r"AVFoundation (video|audio) devices:")
_AVF_DEVICE = re.compile(r"^\[(\d+)\]\s+(.+?)\s*$")
_AVF_SCREEN = re.compile(r"^Capture screen \d+$")


def parse_avfoundation(text: str) -> list[Device]:
    """Devices from the stderr of ``ffmpeg -f avfoundation -list_devices true -i ""``.

    Video devices named ``Capture screen N`` are screens, listed after the
    cameras (:attr:`DeviceKind.VIDEO`) in avfoundation's numbering. A
    screen's ``id`` is its name (avfoundation matches names too, and the
    name does not change when a camera comes or goes); other devices' ``id``
    is the index, which avfoundation takes as ``"<video>:<audio>"``.
    """
    devices: list[Device] = []
    section: str | None = None
    for line in log_lines(text):
        header = _AVF_HEADER.search(line)
        if header is not None:
            section = header.group(1)
            continue
        match = _AVF_DEVICE.match(line)
        if section is None or match is None:
            continue
        index, name = match.groups()
        if section == "audio":
            kind = DeviceKind.AUDIO
        else:
            kind = DeviceKind.SCREEN if _AVF_SCREEN.match(name) else DeviceKind.VIDEO
        device_id = name if kind is DeviceKind.SCREEN else index
        devices.append(Device(kind=kind, backend=str(Backend.AVFOUNDATION), id=device_id, name=name))
    return devices



def with_display_sizes(devices: Sequence[Device], displays: Sequence[DisplayInfo]) -> list[Device]:
    """avfoundation screens with the pixel size of their display (``Capture screen N`` is display N)."""
    sized: list[Device] = []
    for device in devices:
        index = avfoundation_screen_index(device.id) if device.kind is DeviceKind.SCREEN else None
        if index is not None and index < len(displays):
            display = displays[index]
            device = replace(device, size=(display.pixel_width, display.pixel_height))
        sized.append(device)
    return sized



def avfoundation_listed(text: str) -> bool:
    """Whether ``text`` is an avfoundation listing at all (it has its section headers)."""
    return any(_AVF_HEADER.search(line) for line in log_lines(text))



def list_avfoundation(ffmpeg_path: str, *, runner: Runner = run_tool) -> list[Device]:
    """Run the avfoundation listing; raises :class:`DeviceError` when ``ffmpeg_path`` has no avfoundation."""
    text = run_listing([ffmpeg_path, "-hide_banner", "-f", "avfoundation", "-list_devices", "true", "-i", ""], runner)
    if not avfoundation_listed(text):
        raise DeviceError(f"{ffmpeg_path} did not list avfoundation devices: {last_line(text)}")
    return parse_avfoundation(text)
