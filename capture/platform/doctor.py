"""``caprec doctor``'s checks: can this machine record, and what would get in the way?

Each check is a function returning a :class:`Check` (a name, ``pass`` /
``warn`` / ``fail`` and a one-line detail that names the fix).
:func:`run_checks` runs them all for one platform; every collaborator (the
ffmpeg finder, the tool runner, the display probe, the pynput import, the
free-space function) is an argument so that tests can force each status.
A failed check means ``caprec record`` of the screen will not work; a
warning means it works with a limit (no cursor log, little disk space, a
Wayland session, a permission macOS may still ask for).
"""

from __future__ import annotations

import enum
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from caprec.capture.errors import DisplayError, FFmpegNotFoundError
from caprec.capture.ffmpeg.argv import DEFAULT_CODEC, HARDWARE_CODECS, Backend
from caprec.capture.ffmpeg.binary import EXPLICIT_ORIGIN, FFmpegBinary, find_ffmpeg
from caprec.capture.ffmpeg.process import TOOL_TIMEOUT, ToolResult, run_tool
from caprec.capture.files.diskspace import DiskSpaceError, FreeBytes, check_start, existing_ancestor, free_bytes
from caprec.capture.platform.devices import parse_ffmpeg_devices
from caprec.capture.platform.permissions import MICROPHONE, SCREEN_RECORDING, ScreenPreflight, screen_capture_preflight
from caprec.capture.platform.pulse import NoSoundServer, Pactl
from caprec.capture.platform.screen import default_backend, is_wayland, x11_screen_size
from caprec.capture.record.segment import FIRST_FRAME_TIMEOUT_S
from caprec.capture.units import format_bytes

DEVICES_TIMEOUT_S = TOOL_TIMEOUT
PROBE_FILE_PREFIX = ".caprec-doctor-"
FFMPEG_FIX = "install an ffmpeg built with it (apt-get install ffmpeg, brew install ffmpeg) or pass `ffmpeg` PATH"

Runner = Callable[..., ToolResult]


class CheckStatus(enum.StrEnum):
    """A check's verdict, mildest first."""

    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"


_SEVERITY = {CheckStatus.PASS: 0, CheckStatus.WARN: 1, CheckStatus.FAIL: 2}


@dataclass(frozen=True)
class Check:
    """One line of the doctor's report."""

    name: str
    status: CheckStatus
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "status": str(self.status), "detail": self.detail}


class FFmpegFinder(Protocol):
    """:func:`caprec.capture.ffmpeg.binary.find_ffmpeg`'s shape, as far as the doctor calls it."""

    def __call__(self, *, explicit: str | None = ..., explicit_origin: str = ...) -> FFmpegBinary: ...


def worst(checks: Iterable[Check]) -> CheckStatus:
    """The most severe status among ``checks`` (``pass`` when there are none)."""
    return max((check.status for check in checks), key=_SEVERITY.__getitem__, default=CheckStatus.PASS)


def pynput_backend_name() -> str:
    """The module of pynput's mouse listener (``pynput.mouse._xorg``); raises what the import raises.

    Importing pynput connects to the display of this process's ``DISPLAY``
    on Linux, as the cursor log does when it starts.
    """
    from pynput import mouse  # type: ignore[import-untyped,unused-ignore]

    return str(mouse.Listener.__module__)


# -- the checks --------------------------------------------------------------

def check_ffmpeg(*, find: FFmpegFinder = find_ffmpeg, explicit: str | None = None,
                 explicit_origin: str = EXPLICIT_ORIGIN) -> tuple[Check, FFmpegBinary | None]:
    """Which ffmpeg ``caprec record`` would use, and its version; fail when there is none."""
    try:
        binary = find(explicit=explicit, explicit_origin=explicit_origin)
    except FFmpegNotFoundError as exc:
        return Check("ffmpeg", CheckStatus.FAIL, str(exc)), None
    return Check("ffmpeg", CheckStatus.PASS, f"{binary.path} (version {binary.version}, from {binary.origin})"), binary


def _no_ffmpeg(name: str) -> Check:
    return Check(name, CheckStatus.FAIL, "not checked: no usable ffmpeg (see the ffmpeg check)")


def check_encoders(binary: FFmpegBinary | None) -> list[Check]:
    """libx264 (caprec's default encoder: fail without it) and the hardware H.264 encoders built in."""
    if binary is None:
        return [_no_ffmpeg(DEFAULT_CODEC)]
    if DEFAULT_CODEC in binary.encoders:
        software = Check(DEFAULT_CODEC, CheckStatus.PASS, "available (the default encoder)")
    else:
        software = Check(DEFAULT_CODEC, CheckStatus.FAIL, f"{binary.path} has no {DEFAULT_CODEC} encoder; {FFMPEG_FIX}")
    hardware = sorted(HARDWARE_CODECS & binary.encoders)
    detail = (f"built in: {', '.join(hardware)} (each needs its GPU and driver; try one with `codec`)" if hardware
              else f"none built in; {DEFAULT_CODEC} is used")
    return [software, Check("hardware encoders", CheckStatus.PASS, detail)]


def check_input_devices(binary: FFmpegBinary | None, *, platform: str = sys.platform,
                        runner: Runner = run_tool) -> list[Check]:
    """The platform's screen grabber (fail when missing) and lavfi (warn: only the test sources need it)."""
    grabber = default_backend(platform)
    screen_name = f"screen input ({grabber})"
    if binary is None:
        return [_no_ffmpeg(screen_name)]
    try:
        result = runner([binary.path, "-hide_banner", "-devices"], timeout=DEVICES_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return [Check(screen_name, CheckStatus.FAIL, f"{binary.path} -devices did not answer: {exc}")]
    inputs = {name for name, flags in parse_ffmpeg_devices(result.stdout.decode("utf-8", "replace")).items()
              if "D" in flags}
    checks = []
    if str(grabber) in inputs:
        checks.append(Check(screen_name, CheckStatus.PASS, f"{binary.path} has {grabber}"))
    else:
        checks.append(Check(screen_name, CheckStatus.FAIL, f"{binary.path} has no {grabber} input; {FFMPEG_FIX}"))
    lavfi = str(Backend.LAVFI)
    if lavfi in inputs:
        checks.append(Check(f"test sources ({lavfi})", CheckStatus.PASS, f"{binary.path} has {lavfi}"))
    else:
        checks.append(Check(f"test sources ({lavfi})", CheckStatus.WARN,
                            f"{binary.path} has no {lavfi}: `source` test and `audio` test will not work"))
    return checks


def check_display(*, display: str | None = None, environ: Mapping[str, str] = os.environ,
                  screen_size: Callable[[str], tuple[int, int] | None] = x11_screen_size) -> Check:
    """X11: ``display`` (else ``$DISPLAY``) is set and answers; a Wayland session is a warning."""
    name = display or environ.get("DISPLAY")
    wayland = is_wayland(environ)
    if not name:
        if wayland:
            return Check("display", CheckStatus.FAIL, "a Wayland session without XWayland (DISPLAY is not set): "
                         "x11grab cannot capture it; log in to an X11 session (`source` test still works)")
        return Check("display", CheckStatus.FAIL, "DISPLAY is not set: there is no X screen to capture; set DISPLAY "
                     "(e.g. :0) or pass `display` (`source` test still works)")
    try:
        size = screen_size(name)
    except DisplayError as exc:
        return Check("display", CheckStatus.FAIL, str(exc))
    answered = f"{name} answers" + (f" ({size[0]}x{size[1]})" if size is not None else "")
    if wayland:
        return Check("display", CheckStatus.WARN, f"{answered}, but this is a Wayland session: x11grab and the "
                     "cursor log see only XWayland windows; log in to an X11 session to capture everything")
    if size is None:
        return Check("display", CheckStatus.WARN, f"{name} is set but could not be checked (python-xlib is missing)")
    return Check("display", CheckStatus.PASS, answered)


def check_pynput(*, backend: Callable[[], str] = pynput_backend_name) -> Check:
    """pynput's mouse backend for the cursor log; a warning when it cannot load (recording still works)."""
    try:
        module = backend()
    # A doctor reports, it does not crash: importing pynput runs each platform's
    # own code (Xlib, Quartz, win32), which may raise anything.
    except Exception as exc:
        lines = str(exc).strip().splitlines()
        why = lines[0] if lines else type(exc).__name__
        return Check("cursor log (pynput)", CheckStatus.WARN,
                     f"pynput cannot load: {why}; recordings work without the cursor log (`cursor` off)")
    return Check("cursor log (pynput)", CheckStatus.PASS, f"backend {module}")


def check_free_space(output_dir: Path, *, free: FreeBytes = free_bytes) -> Check:
    """Free space where recordings go, against :mod:`caprec.capture.files.diskspace`'s thresholds."""
    measured: list[int] = []

    def measure(path: Path) -> int:
        measured.append(free(path))
        return measured[-1]

    try:
        warning = check_start(output_dir, free=measure)
    except DiskSpaceError as exc:
        return Check("free space", CheckStatus.FAIL, str(exc))
    if warning is not None:
        return Check("free space", CheckStatus.WARN, warning)
    where = existing_ancestor(output_dir)
    return Check("free space", CheckStatus.PASS, f"{format_bytes(measured[-1])} free in {where}")


def check_writable(output_dir: Path) -> Check:
    """Whether a file can be created (and deleted) in ``output_dir``."""
    name = "output directory"
    if not output_dir.exists():
        return Check(name, CheckStatus.FAIL, f"{output_dir} does not exist; create it or pass another `output_dir`")
    if not output_dir.is_dir():
        return Check(name, CheckStatus.FAIL, f"{output_dir} is not a directory; pass a directory with `output_dir`")
    try:
        handle, probe = tempfile.mkstemp(prefix=PROBE_FILE_PREFIX, suffix=".tmp", dir=output_dir)
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        return Check(name, CheckStatus.FAIL, f"cannot create a file in {output_dir} ({exc.strerror or exc}); "
                     "fix its permissions or pass another `output_dir`")
    return Check(name, CheckStatus.PASS, f"{output_dir.absolute()} is writable")


def check_sound_server(pactl: Pactl) -> Check:
    """Linux: a PulseAudio/PipeWire server for ``--audio mic`` / ``desktop`` (a warning without one)."""
    name = "sound server"
    if not pactl.available:
        return Check(name, CheckStatus.WARN, "pactl is not installed, so the sound server cannot be checked "
                     "(apt-get install pulseaudio-utils); `audio` test works without one")
    try:
        server = pactl.info()
    except NoSoundServer as exc:
        return Check(name, CheckStatus.WARN, f"no PulseAudio/PipeWire server answers ({exc}): `audio` mic and "
                     "desktop will not work; start one (pulseaudio --start), `audio` test works without one")
    return Check(name, CheckStatus.PASS, f"{server.name} {server.version}: default output "
                 f"{server.default_sink or 'none'} (desktop), default input {server.default_source or 'none'} (mic)")


def check_macos_permission(*, preflight: ScreenPreflight = screen_capture_preflight) -> Check:
    """macOS: Screen Recording permission, asked without a prompt (CGPreflightScreenCaptureAccess).

    Granted passes, refused fails; when it cannot be asked (pyobjc's Quartz
    missing, macOS before 10.15) it is a warning that says what to expect.
    """
    name = "screen recording permission"
    where = f"System Settings > Privacy & Security > {SCREEN_RECORDING}"
    granted = preflight()
    if granted:
        return Check(name, CheckStatus.PASS, f"granted to the app that runs caprec; audio from avfoundation also "
                     f"needs {MICROPHONE} permission (without it ffmpeg waits forever)")
    if granted is False:
        return Check(name, CheckStatus.FAIL, f"not granted to the app that runs caprec (your terminal): ffmpeg gets "
                     f"no frames, or only the wallpaper; grant it in {where}, then quit and reopen the terminal")
    return Check(name, CheckStatus.WARN,
                 f"could not be asked here; macOS asks for Screen Recording permission for the app that runs ffmpeg "
                 f"({where}); until it is granted ffmpeg captures no frames and caprec stops after "
                 f"{FIRST_FRAME_TIMEOUT_S:g} s saying so")


def run_checks(
    *,
    output_dir: Path,
    ffmpeg_path: str | None = None,
    ffmpeg_origin: str = EXPLICIT_ORIGIN,
    display: str | None = None,
    platform: str = sys.platform,
    environ: Mapping[str, str] = os.environ,
    find: FFmpegFinder = find_ffmpeg,
    runner: Runner = run_tool,
    screen_size: Callable[[str], tuple[int, int] | None] = x11_screen_size,
    pynput_backend: Callable[[], str] = pynput_backend_name,
    free: FreeBytes = free_bytes,
    screen_permission: ScreenPreflight = screen_capture_preflight,
    sound: Pactl | None = None,
) -> list[Check]:
    """Every check for ``platform``, in report order.

    ``ffmpeg_path`` / ``ffmpeg_origin`` and ``display`` are what ``caprec
    record`` would be given (flag, variable or config); ``output_dir`` is
    where its recordings go. ``sound`` is the sound server to check on
    X11 systems (not checked when None).
    """
    ffmpeg_check, binary = check_ffmpeg(find=find, explicit=ffmpeg_path, explicit_origin=ffmpeg_origin)
    checks = [ffmpeg_check, *check_encoders(binary), *check_input_devices(binary, platform=platform, runner=runner)]
    grabber = default_backend(platform)
    if grabber is Backend.X11GRAB:
        checks.append(check_display(display=display, environ=environ, screen_size=screen_size))
        if sound is not None:
            checks.append(check_sound_server(sound))
    elif grabber is Backend.AVFOUNDATION:
        checks.append(check_macos_permission(preflight=screen_permission))
    checks.append(check_pynput(backend=pynput_backend))
    checks.append(check_free_space(output_dir, free=free))
    checks.append(check_writable(output_dir))
    return checks
