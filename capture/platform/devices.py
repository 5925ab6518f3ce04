"""The screens and audio inputs caprec can capture on this machine.

Pure parsers turn the text FFmpeg and the system tools print into
:class:`caprec.capture.platform.listing.Device` values; thin runners call those
tools through :func:`caprec.capture.ffmpeg.process.run_tool`. Each platform has
its module (:mod:`caprec.capture.platform.devices_macos`,
:mod:`caprec.capture.platform.devices_windows`, :mod:`caprec.capture.platform.devices_linux`);
:func:`list_devices` puts them together for one platform:

- macOS: ``ffmpeg -f avfoundation -list_devices true -i ""`` (screens are the
  ``Capture screen N`` video devices, by name, sized from Quartz; cameras the
  others, then microphones).
- Windows: ``gdigrab``'s ``desktop`` and its monitors as regions, then
  ``ffmpeg -list_devices true -f dshow -i dummy`` (cameras and microphones,
  in either of FFmpeg's two formats).
- Linux and other X11 systems: the X screens of ``$DISPLAY`` with their sizes
  (python-xlib), RandR monitors when a screen has several, PulseAudio sources
  (``pactl``, when installed and a server answers) and ALSA capture devices
  (``/proc/asound/pcm``).

Everywhere: the ``test`` audio source (a lavfi sine tone).
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from caprec.capture.errors import DisplayError
from caprec.capture.ffmpeg.argv import Backend
from caprec.capture.ffmpeg.process import run_tool
from caprec.capture.platform.devices_linux import (
    ALSA_PCM_PATH,
    list_alsa_capture,
    list_pulse_sources,
    read_x_screens,
    x11_devices,
)
from caprec.capture.platform.devices_macos import list_avfoundation, with_display_sizes
from caprec.capture.platform.devices_windows import gdigrab_desktop, list_dshow, windows_monitors
from caprec.capture.platform.displays import DisplayReader, GeometryUnavailable, display_reader
from caprec.capture.platform.listing import Device, DeviceKind, Note, Runner, note
from caprec.capture.platform.screen import default_backend
from caprec.capture.platform.x11wire import XScreen

TEST_AUDIO_ID = "test"
TEST_AUDIO_NAME = "test tone (lavfi sine, 440 Hz)"
LAVFI = str(Backend.LAVFI)
# Platforms whose devices only FFmpeg can list.
FFMPEG_LISTED_PLATFORMS = frozenset({"darwin", "win32"})
# " D  x11grab         X11 screen capture, using XCB" (flags D/E, then the name or "a,b" aliases).
_FFMPEG_DEVICE = re.compile(r"^\s?([D ])([E ])\s+([\w,]+)(?:\s|$)")


def test_audio_device() -> Device:
    """``--audio test``: a sine tone from FFmpeg's lavfi, available everywhere."""
    return Device(kind=DeviceKind.AUDIO, backend=LAVFI, id=TEST_AUDIO_ID, name=TEST_AUDIO_NAME)



def needs_ffmpeg(platform: str = sys.platform) -> bool:
    """Whether listing devices on ``platform`` asks FFmpeg (macOS, Windows) rather than the system."""
    return platform in FFMPEG_LISTED_PLATFORMS



def list_devices(
    *,
    ffmpeg_path: str | None,
    platform: str = sys.platform,
    environ: Mapping[str, str] = os.environ,
    runner: Runner = run_tool,
    which: Callable[[str], str | None] = shutil.which,
    x_screens: Callable[[str], list[XScreen]] = read_x_screens,
    alsa_pcm: Path = ALSA_PCM_PATH,
    display: str | None = None,
    on_note: Note | None = None,
    displays: DisplayReader | None = None,
) -> list[Device]:
    """Every capture device of ``platform``: screens first, then other video, then audio.

    ``ffmpeg_path`` is needed on macOS and Windows (see :func:`needs_ffmpeg`);
    on X11 the display is ``display`` or ``$DISPLAY``. What cannot be listed
    but is not an error (no DISPLAY, no PulseAudio server) is reported
    through ``on_note``. Raises :class:`DeviceError` when FFmpeg cannot list
    the platform's devices. The ``test`` audio source is always last. On
    macOS and Windows ``displays`` (default: the platform's reader) sizes
    the screens and lists Windows monitors; without it they have no size.
    """
    devices: list[Device] = []
    backend = default_backend(platform)
    if backend is Backend.AVFOUNDATION or backend is Backend.GDIGRAB:
        try:
            geometry = (displays or display_reader(platform))()
        except GeometryUnavailable as exc:
            note(on_note, f"screen sizes unknown: {exc}")
            geometry = []
        if backend is Backend.GDIGRAB:
            devices.append(gdigrab_desktop())
            devices += windows_monitors(geometry)
        if ffmpeg_path is None:
            note(on_note, "no ffmpeg: only FFmpeg can list this platform's devices")
        elif backend is Backend.AVFOUNDATION:
            devices += with_display_sizes(list_avfoundation(ffmpeg_path, runner=runner), geometry)
        else:
            devices += list_dshow(ffmpeg_path, runner=runner)
    else:
        name = display or environ.get("DISPLAY")
        if not name:
            wayland = environ.get("WAYLAND_DISPLAY") or environ.get("XDG_SESSION_TYPE") == "wayland"
            why = "a Wayland session without XWayland" if wayland else "DISPLAY is not set"
            note(on_note, f"no X screens listed: {why}")
        else:
            try:
                devices += x11_devices(name, x_screens(name))
            except DisplayError as exc:
                note(on_note, f"no X screens listed: {exc}")
        devices += list_pulse_sources(runner=runner, which=which, on_note=on_note)
        devices += list_alsa_capture(alsa_pcm)
    devices.append(test_audio_device())
    order = {DeviceKind.SCREEN: 0, DeviceKind.VIDEO: 1, DeviceKind.AUDIO: 2}
    return sorted(devices, key=lambda device: order[device.kind])  # stable: each tool's order is kept



def parse_ffmpeg_devices(text: str) -> dict[str, str]:
    """``ffmpeg -hide_banner -devices`` -> ``{name: flags}``, flags ``D`` (input), ``E`` (output) or ``DE``.

    Aliases (``video4linux2,v4l2``) are listed under each name.
    """
    found: dict[str, str] = {}
    for line in text.splitlines():
        match = _FFMPEG_DEVICE.match(line)
        if match is None:
            continue
        flags = (match.group(1) + match.group(2)).replace(" ", "")
        if not flags:
            continue
        for name in match.group(3).split(","):
            found[name] = flags
    return found
