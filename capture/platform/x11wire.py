"""The screens and RandR monitors of a local X display, asked over its socket in a few requests.

Every x11grab recording asks this before FFmpeg starts. python-xlib, which
answers it otherwise, costs 20-25 ms of CPU to import, and importing its
Unix transport runs ``uname -p`` in a subprocess (``platform.uname()``):
40-50 ms of a start that should take 0.3 s. This speaks the handful of
requests needed (connection setup, QueryExtension, RandR QueryVersion and
GetMonitors, GetAtomName) in ~1-3 ms.

Only a local display (``:N`` or ``:N.S``) with no authorization or
MIT-MAGIC-COOKIE-1 (from ``$XAUTHORITY`` or ``~/.Xauthority``) is handled. Anything else (a TCP display, another
authorization, a refused or odd answer) gives None, and the caller asks
python-xlib, whose answers and errors stay the reference.
"""

from __future__ import annotations

import os
import re
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import socket

#: How long one answer may take before python-xlib is asked instead.
REPLY_TIMEOUT_S = 2.0
#: RandR 1.5 added monitors (GetMonitors).
RANDR_MONITORS_VERSION = (1, 5)

_LOCAL_DISPLAY = re.compile(r"^(?:unix/)?(?:unix)?:(\d+)(?:\.(\d+))?$")
_SOCKET_DIR = "/tmp/.X11-unix"
_COOKIE = b"MIT-MAGIC-COOKIE-1"
_FAMILY_LOCAL = 256
_FAMILY_WILD = 65535
# Core requests and RandR's minor opcodes (X11 protocol, randrproto).
_GET_ATOM_NAME = 17
_QUERY_EXTENSION = 98
_RR_QUERY_VERSION = 0
_RR_GET_MONITORS = 42
_SETUP_FIXED = struct.Struct("<IIIIHHBBBBBBBB4x")
_SCREEN = struct.Struct("<IIIIIHHHHHHIBBBB")
_DEPTH = struct.Struct("<BxH4x")
_VISUAL_SIZE = 24
_FORMAT_SIZE = 8
_MONITOR = struct.Struct("<IBBHhhHHII")


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


class _Unhandled(Exception):
    """This display or answer is not one this module handles: python-xlib is asked instead."""


class _XError(Exception):
    """The server answered a request with an error."""


def local_screen_number(display: str) -> int | None:
    """The screen a local display name points at (``:0.1`` -> 1, ``:0`` -> 0); None when not local."""
    match = _LOCAL_DISPLAY.match(display)
    if match is None:
        return None
    return int(match.group(2) or 0)


def wire_screens(display: str) -> list[XScreen] | None:
    """The screens of local ``display`` with their RandR monitors, or None when python-xlib should answer."""
    match = _LOCAL_DISPLAY.match(display)
    if match is None:
        return None
    number = int(match.group(1))
    try:
        with _connect(number) as sock:
            return _Wire(sock).screens(number)
    except (OSError, _Unhandled, struct.error, UnicodeDecodeError, IndexError):
        return None


def _connect(number: int) -> socket.socket:
    import socket  # here: a recording of the test pattern imports this module and never connects

    path = f"{_SOCKET_DIR}/X{number}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(REPLY_TIMEOUT_S)
    try:
        # Linux servers listen on the abstract name too, which a chroot or a missing /tmp does not hide.
        sock.connect(path if os.path.exists(path) else "\0" + path)
    except OSError:
        sock.close()
        raise
    return sock


def _pad(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 4)


def _cookie(number: int) -> tuple[bytes, bytes]:
    """The MIT-MAGIC-COOKIE-1 entry of the Xauthority file for local display ``number`` (as python-xlib and
    libxcb pick it); empty when there is none (the server may need none)."""
    path = os.environ.get("XAUTHORITY") or os.path.join(os.path.expanduser("~"), ".Xauthority")
    try:
        with open(path, "rb") as file:
            data = file.read()
    except OSError:
        return b"", b""
    import socket

    host = socket.gethostname().encode()
    wanted = str(number).encode()
    at = 0
    while at < len(data):
        (family,) = struct.unpack_from(">H", data, at)
        at += 2
        fields = []
        for _ in range(4):  # address, display number, name, data
            (size,) = struct.unpack_from(">H", data, at)
            fields.append(data[at + 2:at + 2 + size])
            at += 2 + size
        address, entry_number, name, secret = fields
        if (name == _COOKIE and entry_number in (wanted, b"")
                and (family == _FAMILY_WILD or (family == _FAMILY_LOCAL and address == host))):
            return name, secret
    return b"", b""


class _Wire:
    """One connection: requests in, replies out (little-endian, one request at a time)."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._roots: list[tuple[int, int, int]] = []

    def _read(self, size: int) -> bytes:
        chunks = []
        while size > 0:
            chunk = self._sock.recv(size)
            if not chunk:
                raise _Unhandled("connection closed")
            chunks.append(chunk)
            size -= len(chunk)
        return b"".join(chunks)

    def _setup(self, number: int) -> None:
        name, secret = _cookie(number)
        self._sock.sendall(struct.pack("<BxHHHH2x", ord("l"), 11, 0, len(name), len(secret))
                           + _pad(name) + _pad(secret))
        status, _, _, _, words = struct.unpack("<BBHHH", self._read(8))
        body = self._read(words * 4)
        if status != 1:
            raise _Unhandled("refused")
        fixed = _SETUP_FIXED.unpack_from(body)
        vendor_size, screen_count, format_count = fixed[4], fixed[6], fixed[7]
        at = _SETUP_FIXED.size + vendor_size + (-vendor_size % 4) + format_count * _FORMAT_SIZE
        for _ in range(screen_count):
            screen = _SCREEN.unpack_from(body, at)
            root, width, height, depth_count = screen[0], screen[5], screen[6], screen[15]
            self._roots.append((root, width, height))
            at += _SCREEN.size
            for _ in range(depth_count):
                _, visuals = _DEPTH.unpack_from(body, at)
                at += _DEPTH.size + visuals * _VISUAL_SIZE

    def _request(self, request: bytes) -> bytes:
        """Send ``request``; its reply (32 bytes and the rest), or :class:`_XError`."""
        self._sock.sendall(request)
        while True:
            head = self._read(32)
            if head[0] == 0:
                raise _XError(head[1])
            if head[0] == 1:
                (extra,) = struct.unpack_from("<I", head, 4)
                return head + self._read(extra * 4)
            # An event: none is selected, but skip it rather than take it for the reply.

    def _randr_opcode(self) -> int | None:
        name = b"RANDR"
        reply = self._request(struct.pack("<BxHH2x", _QUERY_EXTENSION, 2 + len(_pad(name)) // 4, len(name))
                              + _pad(name))
        present, opcode = reply[8], reply[9]
        return opcode if present else None

    def _monitors(self, opcode: int | None, root: int) -> tuple[XMonitor, ...]:
        if opcode is None:
            return ()
        reply = self._request(struct.pack("<BBHII", opcode, _RR_QUERY_VERSION, 3, *RANDR_MONITORS_VERSION))
        if struct.unpack_from("<II", reply, 8) < RANDR_MONITORS_VERSION:
            return ()
        reply = self._request(struct.pack("<BBHIB3x", opcode, _RR_GET_MONITORS, 3, root, 1))
        (count,) = struct.unpack_from("<I", reply, 12)
        at = 32
        monitors = []
        for _ in range(count):
            atom, primary, _, outputs, x, y, width, height, _, _ = _MONITOR.unpack_from(reply, at)
            at += _MONITOR.size + outputs * 4
            monitors.append(XMonitor(name=self._atom_name(atom), x=x, y=y, width=width, height=height,
                                     primary=bool(primary)))
        return tuple(monitors)

    def _atom_name(self, atom: int) -> str:
        reply = self._request(struct.pack("<BxHI", _GET_ATOM_NAME, 2, atom))
        (size,) = struct.unpack_from("<H", reply, 8)
        return reply[32:32 + size].decode("latin-1")

    def screens(self, number: int) -> list[XScreen]:
        self._setup(number)
        try:
            opcode = self._randr_opcode()
        except _XError:
            opcode = None
        screens = []
        for index, (root, width, height) in enumerate(self._roots):
            try:
                monitors = self._monitors(opcode, root)
            except _XError:
                monitors = ()  # best effort, as with python-xlib: the screen without its monitors
            screens.append(XScreen(number=index, width=width, height=height, monitors=monitors))
        return screens
