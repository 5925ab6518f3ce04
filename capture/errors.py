"""Exceptions raised by the engine.

Every error carries a one-line message that names the culprit and, where
there is one, the fix. The CLI turns them into ``error: ...`` and an exit code
at its boundary; the engine never prints.
"""

from __future__ import annotations

import re
from collections.abc import Callable

FIELD_PATTERN = re.compile(r"`([a-z][a-z0-9_]*)`")
"""How a message names a spec field: in backticks (``pass `overwrite```), so an application can name it its way."""


def field(name: str) -> str:
    """``name`` marked as a field in a message; :meth:`CaptureError.describe` renames it."""
    return f"`{name}`"


class CaptureError(Exception):
    """Base class of every error the engine raises on purpose.

    Messages name spec fields, never an application's flags: a field is
    written in backticks (see :func:`field`). ``str(exc)`` shows the field
    names; :meth:`describe` lets an application put its own names in their
    place (the CLI its flags, a batch plan its keys).
    """

    def describe(self, name: Callable[[str], str]) -> str:
        """The message with every marked field replaced by ``name(field)``."""
        return FIELD_PATTERN.sub(lambda match: name(match.group(1)), str(self))


class SettingError(CaptureError):
    """A setting (a spec field, or an application's flag, variable, config key) has a bad value.

    ``origin`` names where the value came from so the message can point at the
    culprit: in the engine a marked field (``field("codec")``), in an
    application whatever it has (``--fps``, ``CAPREC_PIPE_BUFFER``).
    """

    def __init__(self, origin: str, message: str) -> None:
        super().__init__(f"{origin}: {message}")
        self.origin = origin
        self.detail = message


class FFmpegNotFoundError(CaptureError):
    """No usable ffmpeg binary was found."""


class OutputError(CaptureError):
    """The output path cannot be used (exists, missing directory, not writable)."""


class DisplayError(CaptureError):
    """No screen to capture: DISPLAY unset, a Wayland-only session, or the X server went away."""


class DeviceError(CaptureError):
    """FFmpeg could not open or read the capture device.

    ``ffmpeg_lines`` holds FFmpeg's last warning and error lines.
    """

    def __init__(self, message: str, *, ffmpeg_lines: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.ffmpeg_lines = ffmpeg_lines


class NoFirstFrameError(DeviceError):
    """FFmpeg started but produced no frame before the start-up deadline."""


class RecordingFailedError(DeviceError):
    """FFmpeg died or failed during the recording; what was written is kept."""


class DiskFullError(CaptureError):
    """The destination ran out of space; what was written before is kept."""


class WriteError(CaptureError):
    """Writing the recording failed mid-way (not a full disk); what was written is kept."""
