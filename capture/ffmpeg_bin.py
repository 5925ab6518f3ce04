"""Finding a usable FFmpeg: ``--ffmpeg``, ``CAPREC_FFMPEG``, PATH, imageio-ffmpeg.

A candidate is usable when ``ffmpeg -version`` answers within a timeout. An
explicitly named binary (flag or variable) that does not work is an error,
not a reason to fall back silently to another one.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from capture.errors import FFmpegNotFoundError
from capture.process import run_tool

VERSION_TIMEOUT = 10.0
ENV_FFMPEG = "CAPREC_FFMPEG"
_VERSION_RE = re.compile(r"^ffmpeg version (\S+)")
_MAJOR_RE = re.compile(r"^n?(\d+)\.")
_ENCODER_RE = re.compile(r"^\s*V[A-Z.]{5}\s+(\S+)")


@dataclass(frozen=True)
class FFmpegBinary:
    """A working ffmpeg: its path, version string and where it was found."""

    path: str
    version: str
    origin: str
    encoders: frozenset[str] = field(default=frozenset(), compare=False)

    @property
    def major(self) -> int | None:
        """The major version (5 for ``5.1.9-0+deb12u1``), None for git builds."""
        match = _MAJOR_RE.match(self.version)
        return int(match.group(1)) if match else None

    def ffprobe(self) -> str | None:
        """An ffprobe beside this ffmpeg or on PATH (imageio-ffmpeg ships none)."""
        sibling = Path(self.path).with_name("ffprobe" + Path(self.path).suffix)
        if sibling.is_file() and os.access(sibling, os.X_OK):
            return str(sibling)
        return shutil.which("ffprobe")


def _bundled_ffmpeg() -> str | None:
    try:
        import imageio_ffmpeg
    except ImportError:
        return None
    try:
        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except RuntimeError:  # the wheel carries no binary for this platform
        return None


def probe_version(path: str) -> str | None:
    """The version string ``path -version`` prints, or None if it does not work."""
    try:
        result = run_tool([path, "-hide_banner", "-version"], timeout=VERSION_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if result.returncode != 0:
        return None
    match = _VERSION_RE.match(result.stdout.decode("utf-8", "replace"))
    return match.group(1) if match else None


def list_encoders(path: str) -> frozenset[str]:
    """The video encoders this ffmpeg was built with (``ffmpeg -encoders``)."""
    try:
        result = run_tool([path, "-hide_banner", "-encoders"], timeout=VERSION_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired):
        return frozenset()
    text = result.stdout.decode("utf-8", "replace")
    return frozenset(m.group(1) for line in text.splitlines() if (m := _ENCODER_RE.match(line)))


def find_ffmpeg(
    *,
    explicit: str | None = None,
    explicit_origin: str = "--ffmpeg",
    environ: Mapping[str, str] = os.environ,
    which: Callable[[str], str | None] = shutil.which,
    bundled: Callable[[], str | None] = _bundled_ffmpeg,
    check: Callable[[str], str | None] = probe_version,
    encoders: Callable[[str], frozenset[str]] = list_encoders,
) -> FFmpegBinary:
    """Find a working ffmpeg in caprec's order and return it with its version.

    ``explicit_origin`` names where ``explicit`` came from (``--ffmpeg``, or
    a config key) for the error. Collaborators are arguments so tests can
    hand in fakes. Raises :class:`FFmpegNotFoundError` naming everything
    that was tried.
    """
    named = [(explicit_origin, explicit), (ENV_FFMPEG, environ.get(ENV_FFMPEG) or None)]
    for origin, candidate in named:
        if candidate is None:
            continue
        resolved = which(candidate) or candidate
        version = check(resolved)
        if version is None:
            fix = ("drop the flag" if origin == "--ffmpeg" else f"unset {ENV_FFMPEG}" if origin == ENV_FFMPEG
                   else "remove the setting")
            raise FFmpegNotFoundError(f"{origin} names {candidate!r}, which is not a working ffmpeg; "
                                      f"fix the path or {fix}")
        return FFmpegBinary(resolved, version, origin, encoders(resolved))
    tried: list[str] = []
    on_path = which("ffmpeg")
    if on_path is None:
        tried.append("ffmpeg on PATH (not found)")
    elif (version := check(on_path)) is not None:
        return FFmpegBinary(on_path, version, "PATH", encoders(on_path))
    else:
        tried.append(f"{on_path} (does not run)")
    packaged = bundled()
    if packaged is None:
        tried.append("imageio-ffmpeg's binary (not installed)")
    elif (version := check(packaged)) is not None:
        return FFmpegBinary(packaged, version, "imageio-ffmpeg", encoders(packaged))
    else:
        tried.append(f"imageio-ffmpeg's {packaged} (does not run)")
    raise FFmpegNotFoundError(
        "no usable ffmpeg: tried " + ", ".join(tried)
        + "; install ffmpeg (apt-get install ffmpeg, brew install ffmpeg) or pass --ffmpeg PATH"
    )
