"""Exceptions raised by the engine.

Every error carries a one-line message that names the culprit and, where
there is one, the fix. The CLI turns them into ``error: ...`` and an exit code
at its boundary; the engine never prints.
"""

from __future__ import annotations


class CaptureError(Exception):
    """Base class of every error the engine raises on purpose."""


class SettingError(CaptureError):
    """A setting (flag, environment variable, config key) has a bad value.

    ``origin`` names where the value came from, for example ``--fps`` or
    ``CAPREC_PIPE_BUFFER``, so the message can point at the culprit.
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
