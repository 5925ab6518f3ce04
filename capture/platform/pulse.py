"""The PulseAudio (or PipeWire-pulse) sound server, as ``pactl`` reports it.

Pure parsers for ``pactl info`` and ``pactl list short sources|sinks``, and
thin runners through :func:`caprec.capture.ffmpeg.process.run_tool`. Used to check the
audio inputs a recording names before anything starts, by ``caprec
devices`` (sources and sinks with their kind) and by ``caprec doctor``
(is a sound server running?).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from caprec.capture.errors import SettingError
from caprec.capture.ffmpeg.process import ToolResult, run_tool

PACTL_TIMEOUT_S = 5.0
MONITOR_SUFFIX = ".monitor"
#: Names PulseAudio resolves itself: the default source, the default sink's monitor.
DEFAULT_SOURCE = "@DEFAULT_SOURCE@"
DEFAULT_MONITOR = "@DEFAULT_MONITOR@"
SPECIAL_NAMES = frozenset({DEFAULT_SOURCE, DEFAULT_MONITOR, "default"})
NO_SERVER_FIX = "start PulseAudio or PipeWire (pulseaudio --start), or use `audio` test"

Runner = Callable[..., ToolResult]


@dataclass(frozen=True)
class PulseDevice:
    """A source (``mic`` or ``monitor``) or a sink (``sink``) of the sound server."""

    name: str
    kind: str
    spec: str = ""
    state: str = ""


@dataclass(frozen=True)
class PulseServer:
    """What ``pactl info`` says: the server and its defaults."""

    name: str
    version: str
    default_sink: str | None
    default_source: str | None


class NoSoundServer(Exception):
    """``pactl`` is installed but no server answers; the message is pactl's reason."""


def parse_info(text: str) -> PulseServer:
    """``pactl info`` -> the server's name, version and defaults (None when unset)."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, colon, value = line.partition(":")
        if colon:
            fields[key.strip()] = value.strip()

    def default(key: str) -> str | None:
        value = fields.get(key, "")
        return value if value and value != "n/a" else None

    return PulseServer(name=fields.get("Server Name", "unknown server"), version=fields.get("Server Version", "?"),
                       default_sink=default("Default Sink"), default_source=default("Default Source"))


def parse_short(text: str, *, sinks: bool) -> list[PulseDevice]:
    """``pactl list short sources`` (or ``sinks``): tab-separated index, name, driver, spec, state."""
    devices: list[PulseDevice] = []
    for line in text.splitlines():
        fields = [field.strip() for field in line.split("\t")]
        if len(fields) < 2 or not fields[1]:
            continue
        name = fields[1]
        kind = "sink" if sinks else ("monitor" if name.endswith(MONITOR_SUFFIX) else "mic")
        devices.append(PulseDevice(name=name, kind=kind, spec=fields[3] if len(fields) > 3 else "",
                                   state=fields[4] if len(fields) > 4 else ""))
    return devices


def _last_line(data: bytes) -> str:
    lines = [line.strip() for line in data.decode("utf-8", "replace").splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


class Pactl:
    """``pactl`` on this machine; ``available`` is False when it is not installed."""

    def __init__(self, *, runner: Runner = run_tool, which: Callable[[str], str | None] = shutil.which) -> None:
        self._runner = runner
        self._path = which("pactl")

    @property
    def available(self) -> bool:
        return self._path is not None

    def _run(self, *args: str) -> str:
        assert self._path is not None
        try:
            result = self._runner([self._path, *args], timeout=PACTL_TIMEOUT_S)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise NoSoundServer(f"pactl did not answer ({exc})") from None
        if result.returncode != 0:
            raise NoSoundServer(_last_line(result.stderr))
        return result.stdout.decode("utf-8", "replace")

    def info(self) -> PulseServer:
        """The server; raises :class:`NoSoundServer` when none answers."""
        return parse_info(self._run("info"))

    def sources(self) -> list[PulseDevice]:
        """Every source (microphones and sinks' monitors); raises :class:`NoSoundServer`."""
        return parse_short(self._run("list", "short", "sources"), sinks=False)

    def sinks(self) -> list[PulseDevice]:
        """Every sink (output); raises :class:`NoSoundServer`."""
        return parse_short(self._run("list", "short", "sinks"), sinks=True)


def check_sources(devices: Iterable[str], *, origin: str, pactl: Pactl) -> None:
    """Refuse PulseAudio sources that the running server does not have, before recording.

    ``devices`` are source names as FFmpeg's pulse input takes them
    (``@DEFAULT_MONITOR@`` and the like are the server's own). Nothing is
    checked without ``pactl`` (FFmpeg then says what is wrong). Raises
    :class:`SettingError` naming ``origin`` when no server answers, when a
    default is unset, or when a source does not exist.
    """
    wanted = list(devices)
    if not wanted or not pactl.available:
        return
    try:
        # PulseAudio records a sink by name from its monitor: sinks count as sources.
        names = [device.name for device in pactl.sources() + pactl.sinks()]
        server = pactl.info()
    except NoSoundServer as exc:
        raise SettingError(origin, f"no sound server answers ({exc}); {NO_SERVER_FIX}") from None
    for device in wanted:
        if device == DEFAULT_MONITOR and server.default_sink is None:
            raise SettingError(origin, "desktop: the sound server has no default output (sink) to record; "
                                       "give a monitor source by name (caprec devices)")
        if device in (DEFAULT_SOURCE, "default") and server.default_source is None:
            raise SettingError(origin, "mic: the sound server has no default input (source); "
                                       "give a source by name (caprec devices)")
        if device not in SPECIAL_NAMES and device not in names:
            listed = ", ".join(names) or "none"
            raise SettingError(origin, f"no audio source {device!r} on the sound server; sources here: {listed}")
