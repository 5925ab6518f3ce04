"""Exit codes, and the one place engine errors become messages."""

from __future__ import annotations

import enum

from caprec.capture.errors import (
    CaptureError,
    DiskFullError,
    DisplayError,
    FFmpegNotFoundError,
    OutputError,
    SettingError,
)


class ExitStatus(enum.IntEnum):
    """caprec's exit codes (documented in the README)."""

    OK = 0
    ERROR = 1  # the recording failed; whatever was written is kept
    USAGE = 2  # bad input: a flag, variable, config key or path; nothing was created
    ENVIRONMENT = 3  # no usable ffmpeg, no display to capture
    DISK_FULL = 4  # the disk filled up; what was written is kept and plays
    INTERRUPTED = 130  # stopped by a signal before --duration, or stopped fast


def exit_status_for(error: CaptureError) -> ExitStatus:
    """The exit code for an engine error."""
    if isinstance(error, SettingError | OutputError):
        return ExitStatus.USAGE
    if isinstance(error, FFmpegNotFoundError | DisplayError):
        return ExitStatus.ENVIRONMENT
    if isinstance(error, DiskFullError):
        return ExitStatus.DISK_FULL
    return ExitStatus.ERROR
