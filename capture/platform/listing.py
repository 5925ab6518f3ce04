"""What a device listing returns (:class:`Device`), and the helpers every platform's listing shares."""

from __future__ import annotations

import enum
import re
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from caprec.capture.errors import DeviceError
from caprec.capture.ffmpeg.process import ToolResult

# Listing asks the devices themselves; macOS can take a few seconds.
LIST_TIMEOUT_S = 20.0

Runner = Callable[..., ToolResult]
Note = Callable[[str], None]

# "[AVFoundation indev @ 0x7f...] " or "[dshow @ 000001c0d5a2d6c0] ": the log prefix of a device.
_LOG_PREFIX = re.compile(r"^\[[^\]]*@\s*(?:0x)?[0-9a-fA-F]+\]\s?")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


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
    two devices that share a name. ``screen`` is the number that picks an X11
    screen or monitor through the ``screen`` field (caprec.capture.platform.targets),
    set when there are several to pick from.
    """

    kind: DeviceKind
    backend: str
    id: str
    name: str
    size: tuple[int, int] | None = None
    region: str | None = None
    alternative: str | None = None
    screen: int | None = None

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
            "screen": self.screen,
        }



def log_lines(text: str) -> Iterable[str]:
    """FFmpeg log lines without colours and without their ``[name @ 0x...]`` prefix."""
    for raw in text.splitlines():
        yield _LOG_PREFIX.sub("", _ANSI.sub("", raw), count=1).strip()



def decode(data: bytes) -> str:
    return data.decode("utf-8", "replace")



def last_line(text: str) -> str:
    lines = [line for line in log_lines(text) if line]
    return lines[-1] if lines else "no output"



def run_listing(argv: list[str], runner: Runner) -> str:
    """Run an FFmpeg listing (it exits non-zero by design) and return its stderr."""
    try:
        result = runner(argv, timeout=LIST_TIMEOUT_S)
    except OSError as exc:
        raise DeviceError(f"cannot run {argv[0]}: {exc.strerror or exc}") from None
    except subprocess.TimeoutExpired:
        raise DeviceError(f"{argv[0]} did not list the devices within {LIST_TIMEOUT_S:g} s") from None
    return decode(result.stderr) + decode(result.stdout)



def note(on_note: Note | None, text: str) -> None:
    if on_note is not None:
        on_note(text)
