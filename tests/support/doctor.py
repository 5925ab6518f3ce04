"""A healthy Linux machine made of fakes for ``run_checks`` (doctor): an ffmpeg, its devices, free space."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from caprec.capture.errors import FFmpegNotFoundError
from caprec.capture.ffmpeg.binary import FFmpegBinary
from caprec.capture.ffmpeg.process import ToolResult
from caprec.capture.files.diskspace import GIB
from caprec.capture.platform.doctor import Check, run_checks

ALL_ENCODERS = frozenset({"libx264", "h264_nvenc", "h264_qsv", "h264_vaapi", "mpeg4"})
DEVICES_LINUX = b" D  lavfi           Libavfilter virtual input device\n D  x11grab         X11 screen capture\n"
NOT_FOUND = "no usable ffmpeg: tried ffmpeg on PATH (not found); install ffmpeg"
PLENTY_BYTES = 50 * GIB


def finder(binary: FFmpegBinary | None = None, *, error: str = NOT_FOUND) -> Callable[..., FFmpegBinary]:
    """A find_ffmpeg stand-in: returns ``binary``, or raises FFmpegNotFoundError without one."""
    calls: list[dict[str, Any]] = []

    def find(**kwargs: Any) -> FFmpegBinary:
        calls.append(kwargs)
        if binary is None:
            raise FFmpegNotFoundError(error)
        return binary

    find.calls = calls  # type: ignore[attr-defined]
    return find


def ffmpeg(encoders: frozenset[str] = ALL_ENCODERS) -> FFmpegBinary:
    return FFmpegBinary("/opt/ffmpeg/bin/ffmpeg", "7.1", "PATH", encoders)


def devices_runner(stdout: bytes = DEVICES_LINUX) -> Callable[..., ToolResult]:
    def run(argv: Sequence[str], *, timeout: float) -> ToolResult:
        assert list(argv) == ["/opt/ffmpeg/bin/ffmpeg", "-hide_banner", "-devices"]
        return ToolResult(0, stdout, b"")

    return run


def plenty(path: Path) -> int:
    return PLENTY_BYTES


def fake_checks(tmp_path: Path, **overrides: Any) -> list[Check]:
    """run_checks on a healthy Linux machine made of fakes; ``overrides`` break one part."""
    arguments: dict[str, Any] = {
        "output_dir": tmp_path, "platform": "linux", "environ": {"DISPLAY": ":7"},
        "find": finder(ffmpeg()), "runner": devices_runner(), "screen_size": lambda display: (1920, 1080),
        "pynput_backend": lambda: "pynput.mouse._xorg", "free": plenty,
    }
    arguments.update(overrides)
    return run_checks(**arguments)


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {check.name: check for check in checks}
