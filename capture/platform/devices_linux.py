"""Linux (and other X11) devices: the X screens and RandR monitors, PulseAudio sources and sinks, ALSA.

X screens come from python-xlib (RandR 1.5 monitors when a screen has
several), sources and sinks from ``pactl`` when a sound server answers,
ALSA capture devices from ``/proc/asound/pcm``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from caprec.capture.ffmpeg.argv import Backend
from caprec.capture.ffmpeg.process import run_tool
from caprec.capture.platform.listing import Device, DeviceKind, Note, Runner, decode, last_line, note
from caprec.capture.platform.pulse import NoSoundServer, Pactl
from caprec.capture.platform.x11info import x_connection
from caprec.capture.platform.x11wire import RANDR_MONITORS_VERSION, XMonitor, XScreen, wire_screens

PACTL_TIMEOUT_S = 5.0
ALSA_PCM_PATH = Path("/proc/asound/pcm")
PULSE_MONITOR_SUFFIX = ".monitor"
PULSE = "pulse"
ALSA = "alsa"
_ALSA_PCM = re.compile(r"^(\d+)-(\d+):\s*(.*)$")


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
    # The ``screen`` field's N: each monitor of each screen, or the screen itself (caprec.capture.platform.targets).
    number = 0
    several = sum(max(1, len(screen.monitors)) for screen in screens) > 1
    for screen in screens:
        screen_id = f"{base}.{screen.number}"
        whole = [(m.x, m.y, m.width, m.height) == (0, 0, screen.width, screen.height) for m in screen.monitors]
        pick = (number + whole.index(True) if any(whole) else number) if several and len(whole) <= 1 else None
        devices.append(Device(kind=DeviceKind.SCREEN, backend=str(Backend.X11GRAB), id=screen_id,
                              name=f"X screen {screen.number}", size=(screen.width, screen.height), screen=pick))
        number += max(1, len(screen.monitors))
        for index, monitor in enumerate(screen.monitors):
            if whole[index]:
                continue
            primary = " (primary)" if monitor.primary else ""
            devices.append(Device(
                kind=DeviceKind.SCREEN, backend=str(Backend.X11GRAB), id=screen_id,
                name=f"monitor {monitor.name}{primary}", size=(monitor.width, monitor.height),
                region=f"{monitor.width}x{monitor.height}{monitor.x:+d}{monitor.y:+d}",
                screen=number - len(screen.monitors) + index,
            ))
    return devices



def read_x_screens(display: str) -> list[XScreen]:
    """The screens of X ``display`` with their sizes and RandR monitors.

    Raises :class:`DisplayError` when the display cannot be opened (or
    python-xlib is missing). Monitors are best effort: an X server without
    RandR 1.5 gives screens without monitors. Every recording on X11 asks
    this before FFmpeg starts: a local display is asked over its socket
    (:mod:`caprec.capture.platform.x11wire`), any other through python-xlib.
    """
    screens = wire_screens(display)
    return screens if screens is not None else xlib_screens(display)


def xlib_screens(display: str) -> list[XScreen]:
    """:func:`read_x_screens` through python-xlib, over a bare connection (:func:`x_connection`
    ``setup_only``): any display python-xlib reaches, and its errors."""
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

    version = randr.QueryVersion(display=conn, opcode=opcode, major_version=RANDR_MONITORS_VERSION[0],
                                 minor_version=RANDR_MONITORS_VERSION[1])
    if (int(version.major_version), int(version.minor_version)) < RANDR_MONITORS_VERSION:
        return ()
    reply = randr.GetMonitors(display=conn, opcode=opcode, window=root, is_active=True)
    return tuple(
        XMonitor(name=str(request.GetAtomName(display=conn, atom=m.name).name), x=int(m.x), y=int(m.y),
                 width=int(m.width_in_pixels), height=int(m.height_in_pixels), primary=bool(m.primary))
        for m in reply.monitors
    )



def list_pulse_sources(*, runner: Runner = run_tool, which: Callable[[str], str | None] = shutil.which,
                       on_note: Note | None = None) -> list[Device]:
    """PulseAudio sources, or none when ``pactl`` is missing or no server answers (a note, not an error)."""
    pactl = which("pactl")
    if pactl is None:
        return []
    try:
        result = runner([pactl, "list", "short", "sources"], timeout=PACTL_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as exc:
        note(on_note, f"pactl did not answer ({exc}); PulseAudio sources not listed")
        return []
    if result.returncode != 0:
        note(on_note, f"no PulseAudio server ({last_line(decode(result.stderr))}); PulseAudio sources not listed")
        return []
    return parse_pactl_sources(decode(result.stdout)) + list_pulse_sinks(Pactl(runner=runner, which=which))



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
