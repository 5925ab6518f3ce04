"""The screens and audio inputs caprec can capture on this machine.

Pure parsers turn the text FFmpeg and the system tools print into
:class:`Device` values; thin runners call those tools through
:func:`capture.ffmpeg.process.run_tool`; :func:`list_devices` puts them together for
one platform:

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

import enum
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from capture.errors import DeviceError, DisplayError
from capture.ffmpeg.argv import Backend
from capture.ffmpeg.process import ToolResult, run_tool
from capture.platform.displays import (
    DisplayInfo,
    DisplayReader,
    GeometryUnavailable,
    avfoundation_screen_index,
    display_reader,
)
from capture.platform.pulse import NoSoundServer, Pactl
from capture.platform.screen import default_backend
from capture.platform.x11info import x_connection

# Listing asks the devices themselves; macOS can take a few seconds.
LIST_TIMEOUT_S = 20.0
PACTL_TIMEOUT_S = 5.0
ALSA_PCM_PATH = Path("/proc/asound/pcm")
TEST_AUDIO_ID = "test"
TEST_AUDIO_NAME = "test tone (lavfi sine, 440 Hz)"
DESKTOP_ID = "desktop"
PULSE_MONITOR_SUFFIX = ".monitor"
# Backends of audio devices (screens use capture.ffmpeg.argv.Backend's values).
PULSE = "pulse"
ALSA = "alsa"
DSHOW = "dshow"
LAVFI = str(Backend.LAVFI)
# Platforms whose devices only FFmpeg can list.
FFMPEG_LISTED_PLATFORMS = frozenset({"darwin", "win32"})

Runner = Callable[..., ToolResult]
Note = Callable[[str], None]

# "[AVFoundation indev @ 0x7f...] " or "[dshow @ 000001c0d5a2d6c0] ": the log prefix of a device.
_LOG_PREFIX = re.compile(r"^\[[^\]]*@\s*(?:0x)?[0-9a-fA-F]+\]\s?")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_AVF_HEADER = re.compile(r"AVFoundation (video|audio) devices:")
_AVF_DEVICE = re.compile(r"^\[(\d+)\]\s+(.+?)\s*$")
_AVF_SCREEN = re.compile(r"^Capture screen \d+$")
_DSHOW_HEADER = re.compile(r"^DirectShow (video|audio) devices")
_DSHOW_DEVICE = re.compile(r'^"(.*)"(?:\s+\(([^()]*)\))?\s*$')
_DSHOW_ALTERNATIVE = re.compile(r'^Alternative name\s+"(.*)"\s*$')
_ALSA_PCM = re.compile(r"^(\d+)-(\d+):\s*(.*)$")
# " D  x11grab         X11 screen capture, using XCB" (flags D/E, then the name or "a,b" aliases).
_UNKNOWN_FORMAT = "Unknown input format"
_FFMPEG_DEVICE = re.compile(r"^\s?([D ])([E ])\s+([\w,]+)(?:\s|$)")


class DeviceKind(enum.StrEnum):
    """What a device captures: a screen, other video (a camera), or audio."""

    SCREEN = "screen"
    VIDEO = "video"
    AUDIO = "audio"


@dataclass(frozen=True)
class Device:
    """One capture device.

    ``id`` is what to hand to caprec (``--display`` for screens: ``:0.0`` on
    X11, the name ``Capture screen 0`` for avfoundation, whose indexes count
    the cameras first; an audio source's name or ``hw:0,0``);
    ``backend`` the FFmpeg input that opens it. ``region`` (``WxH+X+Y``) is
    set for an X11 RandR monitor: record it with ``--display ID --region
    REGION``. ``alternative`` is DirectShow's unique "Alternative name", for
    two devices that share a name.
    """

    kind: DeviceKind
    backend: str
    id: str
    name: str
    size: tuple[int, int] | None = None
    region: str | None = None
    alternative: str | None = None

    @property
    def size_text(self) -> str:
        """``1280x720``, or an empty string when the size is unknown."""
        return f"{self.size[0]}x{self.size[1]}" if self.size is not None else ""

    def to_json(self) -> dict[str, Any]:
        """A JSON object: every field, the size as ``width`` and ``height`` (null when unknown)."""
        return {
            "kind": str(self.kind),
            "backend": self.backend,
            "id": self.id,
            "name": self.name,
            "width": self.size[0] if self.size is not None else None,
            "height": self.size[1] if self.size is not None else None,
            "region": self.region,
            "alternative": self.alternative,
        }


@dataclass(frozen=True)
class XMonitor:
    """A RandR monitor: a rectangle of an X screen (one physical display)."""

    name: str
    x: int
    y: int
    width: int
    height: int
    primary: bool = False


@dataclass(frozen=True)
class XScreen:
    """An X screen of a display: its number, size and RandR monitors (empty when unknown)."""

    number: int
    width: int
    height: int
    monitors: tuple[XMonitor, ...] = ()


def test_audio_device() -> Device:
    """``--audio test``: a sine tone from FFmpeg's lavfi, available everywhere."""
    return Device(kind=DeviceKind.AUDIO, backend=LAVFI, id=TEST_AUDIO_ID, name=TEST_AUDIO_NAME)


def _log_lines(text: str) -> Iterable[str]:
    """FFmpeg log lines without colours and without their ``[name @ 0x...]`` prefix."""
    for raw in text.splitlines():
        yield _LOG_PREFIX.sub("", _ANSI.sub("", raw), count=1).strip()


# -- macOS -------------------------------------------------------------------

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
    for line in _log_lines(text):
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


def avfoundation_listed(text: str) -> bool:
    """Whether ``text`` is an avfoundation listing at all (it has its section headers)."""
    return any(_AVF_HEADER.search(line) for line in _log_lines(text))


# -- Windows -----------------------------------------------------------------

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
    for line in _log_lines(text):
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
    return any(_DSHOW_HEADER.match(line) or _DSHOW_DEVICE.match(line) for line in _log_lines(text))


def gdigrab_desktop() -> Device:
    """gdigrab's ``desktop``: every monitor, always there on Windows."""
    return Device(kind=DeviceKind.SCREEN, backend=str(Backend.GDIGRAB), id=DESKTOP_ID,
                  name="the whole desktop (all monitors)")


# -- Linux -------------------------------------------------------------------

def parse_pactl_sources(text: str) -> list[Device]:
    """PulseAudio (or PipeWire) sources from ``pactl list short sources``.

    Each line is tab-separated: index, name, module, sample spec, state.
    Sources named ``*.monitor`` carry what an output plays (system sound).
    """
    devices: list[Device] = []
    for line in text.splitlines():
        fields = line.split("\t")
        if len(fields) < 2 or not fields[1].strip():
            continue
        name = fields[1].strip()
        what = "what the output plays (monitor)" if name.endswith(PULSE_MONITOR_SUFFIX) else "input"
        extra = ", ".join(field.strip() for field in fields[3:5] if field.strip())
        devices.append(Device(kind=DeviceKind.AUDIO, backend=PULSE, id=name,
                              name=f"{what}, {extra}" if extra else what))
    return devices


def parse_alsa_pcm(text: str) -> list[Device]:
    """ALSA capture devices from ``/proc/asound/pcm``.

    Lines look like ``00-00: ALC3246 Analog : ALC3246 Analog : playback 1 :
    capture 1``; those with a ``capture`` field become ``hw:CARD,DEVICE``.
    """
    devices: list[Device] = []
    for line in text.splitlines():
        match = _ALSA_PCM.match(line.strip())
        if match is None:
            continue
        card, device, rest = match.groups()
        fields = [field.strip() for field in rest.split(" : ")]
        if not any(field.startswith("capture") for field in fields):
            continue
        name = fields[0] if fields and fields[0] else f"card {int(card)} device {int(device)}"
        devices.append(Device(kind=DeviceKind.AUDIO, backend=ALSA, id=f"hw:{int(card)},{int(device)}", name=name))
    return devices


def display_base(display: str) -> str:
    """``:0.1`` -> ``:0``; ``host:10.0`` -> ``host:10``: the display without its screen number."""
    host, colon, rest = display.rpartition(":")
    if not colon:
        return display
    return f"{host}:{rest.split('.', 1)[0]}"


def x11_devices(display: str, screens: Sequence[XScreen]) -> list[Device]:
    """The screens of ``display``, then their RandR monitors when a screen has more than one.

    A monitor that covers its whole screen adds nothing to the screen and is
    left out.
    """
    base = display_base(display)
    devices: list[Device] = []
    number = 0  # ``--screen N``: each monitor of each screen, or the screen itself (capture.platform.targets)
    several = sum(max(1, len(screen.monitors)) for screen in screens) > 1
    for screen in screens:
        screen_id = f"{base}.{screen.number}"
        whole = [(m.x, m.y, m.width, m.height) == (0, 0, screen.width, screen.height) for m in screen.monitors]
        pick = f", --screen {number + whole.index(True) if any(whole) else number}" if several and len(whole) <= 1 \
            else ""
        devices.append(Device(kind=DeviceKind.SCREEN, backend=str(Backend.X11GRAB), id=screen_id,
                              name=f"X screen {screen.number}{pick}", size=(screen.width, screen.height)))
        number += max(1, len(screen.monitors))
        for index, monitor in enumerate(screen.monitors):
            if whole[index]:
                continue
            primary = " (primary)" if monitor.primary else ""
            devices.append(Device(
                kind=DeviceKind.SCREEN, backend=str(Backend.X11GRAB), id=screen_id,
                name=f"monitor {monitor.name}{primary}, --screen {number - len(screen.monitors) + index}",
                size=(monitor.width, monitor.height),
                region=f"{monitor.width}x{monitor.height}{monitor.x:+d}{monitor.y:+d}",
            ))
    return devices


def read_x_screens(display: str) -> list[XScreen]:
    """The screens of X ``display`` with their sizes and RandR monitors (python-xlib).

    Raises :class:`DisplayError` when the display cannot be opened (or
    python-xlib is missing). Monitors are best effort: an X server without
    RandR 1.5 gives screens without monitors. The requests go over a bare
    connection (:func:`x_connection` ``setup_only``): every recording on X11
    asks this before FFmpeg starts.
    """
    with x_connection(display, setup_only=True) as conn:
        from Xlib.error import XError

        try:
            randr = _randr_opcode(conn)
        except (XError, AttributeError, OSError):
            randr = None
        screens: list[XScreen] = []
        for number, screen in enumerate(conn.info.roots):
            try:
                monitors = _randr_monitors(conn, randr, screen.root)
            except (XError, AttributeError, OSError):
                monitors = ()
            screens.append(XScreen(number=number, width=int(screen.width_in_pixels),
                                   height=int(screen.height_in_pixels), monitors=monitors))
        return screens


# RandR 1.5 added monitors (GetMonitors).
_RANDR_MONITORS_VERSION = (1, 5)


def _randr_opcode(conn: Any) -> int | None:
    """RandR's major opcode on ``conn``, or None when the server has no RandR."""
    from Xlib.protocol import request

    reply = request.QueryExtension(display=conn, name="RANDR")
    return int(reply.major_opcode) if reply.present else None


def _randr_monitors(conn: Any, opcode: int | None, root: Any) -> tuple[XMonitor, ...]:
    if opcode is None:
        return ()
    from Xlib.ext import randr
    from Xlib.protocol import request

    version = randr.QueryVersion(display=conn, opcode=opcode, major_version=_RANDR_MONITORS_VERSION[0],
                                 minor_version=_RANDR_MONITORS_VERSION[1])
    if (int(version.major_version), int(version.minor_version)) < _RANDR_MONITORS_VERSION:
        return ()
    reply = randr.GetMonitors(display=conn, opcode=opcode, window=root, is_active=True)
    return tuple(
        XMonitor(name=str(request.GetAtomName(display=conn, atom=m.name).name), x=int(m.x), y=int(m.y),
                 width=int(m.width_in_pixels), height=int(m.height_in_pixels), primary=bool(m.primary))
        for m in reply.monitors
    )


# -- runners -----------------------------------------------------------------

def _decode(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def _last_line(text: str) -> str:
    lines = [line for line in _log_lines(text) if line]
    return lines[-1] if lines else "no output"


def _run_listing(argv: list[str], runner: Runner) -> str:
    """Run an FFmpeg listing (it exits non-zero by design) and return its stderr."""
    try:
        result = runner(argv, timeout=LIST_TIMEOUT_S)
    except OSError as exc:
        raise DeviceError(f"cannot run {argv[0]}: {exc.strerror or exc}") from None
    except subprocess.TimeoutExpired:
        raise DeviceError(f"{argv[0]} did not list the devices within {LIST_TIMEOUT_S:g} s") from None
    return _decode(result.stderr) + _decode(result.stdout)


def list_avfoundation(ffmpeg_path: str, *, runner: Runner = run_tool) -> list[Device]:
    """Run the avfoundation listing; raises :class:`DeviceError` when ``ffmpeg_path`` has no avfoundation."""
    text = _run_listing([ffmpeg_path, "-hide_banner", "-f", "avfoundation", "-list_devices", "true", "-i", ""], runner)
    if not avfoundation_listed(text):
        raise DeviceError(f"{ffmpeg_path} did not list avfoundation devices: {_last_line(text)}")
    return parse_avfoundation(text)


def list_dshow(ffmpeg_path: str, *, runner: Runner = run_tool) -> list[Device]:
    """Run the DirectShow listing; an ffmpeg without dshow raises :class:`DeviceError`."""
    text = _run_listing([ffmpeg_path, "-hide_banner", "-list_devices", "true", "-f", "dshow", "-i", "dummy"], runner)
    # Without devices the new format prints nothing at all, so only a missing dshow is an error.
    if not dshow_listed(text) and _UNKNOWN_FORMAT in text:
        raise DeviceError(f"{ffmpeg_path} has no DirectShow input: {_last_line(text)}")
    return parse_dshow(text)


def list_pulse_sources(*, runner: Runner = run_tool, which: Callable[[str], str | None] = shutil.which,
                       on_note: Note | None = None) -> list[Device]:
    """PulseAudio sources, or none when ``pactl`` is missing or no server answers (a note, not an error)."""
    pactl = which("pactl")
    if pactl is None:
        return []
    try:
        result = runner([pactl, "list", "short", "sources"], timeout=PACTL_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as exc:
        _note(on_note, f"pactl did not answer ({exc}); PulseAudio sources not listed")
        return []
    if result.returncode != 0:
        _note(on_note, f"no PulseAudio server ({_last_line(_decode(result.stderr))}); PulseAudio sources not listed")
        return []
    return parse_pactl_sources(_decode(result.stdout)) + list_pulse_sinks(Pactl(runner=runner, which=which))


def list_pulse_sinks(pactl: Pactl) -> list[Device]:
    """The sound server's outputs (sinks): ``--audio desktop`` records the default one's monitor.

    Listed after the sources, best effort (the sources listing already said when no server answers).
    """
    try:
        sinks = pactl.sinks()
        default = pactl.info().default_sink
    except NoSoundServer:
        return []
    return [Device(kind=DeviceKind.AUDIO, backend=PULSE, id=sink.name,
                   name="output (sink), default: desktop records its monitor" if sink.name == default
                   else f"output (sink); record what it plays with {sink.name}{PULSE_MONITOR_SUFFIX}")
            for sink in sinks]


def list_alsa_capture(path: Path = ALSA_PCM_PATH) -> list[Device]:
    """ALSA capture devices from ``path`` (``/proc/asound/pcm``); none when it is absent."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    return parse_alsa_pcm(text)


def _note(on_note: Note | None, text: str) -> None:
    if on_note is not None:
        on_note(text)


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
            _note(on_note, f"screen sizes unknown: {exc}")
            geometry = []
        if backend is Backend.GDIGRAB:
            devices.append(gdigrab_desktop())
            devices += windows_monitors(geometry)
        if ffmpeg_path is None:
            _note(on_note, "no ffmpeg: only FFmpeg can list this platform's devices")
        elif backend is Backend.AVFOUNDATION:
            devices += with_display_sizes(list_avfoundation(ffmpeg_path, runner=runner), geometry)
        else:
            devices += list_dshow(ffmpeg_path, runner=runner)
    else:
        name = display or environ.get("DISPLAY")
        if not name:
            wayland = environ.get("WAYLAND_DISPLAY") or environ.get("XDG_SESSION_TYPE") == "wayland"
            why = "a Wayland session without XWayland" if wayland else "DISPLAY is not set"
            _note(on_note, f"no X screens listed: {why}")
        else:
            try:
                devices += x11_devices(name, x_screens(name))
            except DisplayError as exc:
                _note(on_note, f"no X screens listed: {exc}")
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
