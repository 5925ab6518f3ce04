"""Finding a usable FFmpeg: the ``ffmpeg`` field, PATH, imageio-ffmpeg.

A candidate is usable when ``ffmpeg -version`` answers within a timeout. An
explicitly named binary that does not work is an error, not a reason to fall
back silently to another one. Where the explicit one came from (a flag, a
variable, a config key) is the caller's business: it names the origin.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field

from caprec.capture.errors import FFmpegNotFoundError
from caprec.capture.errors import field as spec_field
from caprec.capture.ffmpeg.probe_cache import ProbeCache, binary_key
from caprec.capture.ffmpeg.process import run_tool

VERSION_TIMEOUT = 10.0
EXPLICIT_ORIGIN = spec_field("ffmpeg")
"""Where an explicit ffmpeg comes from unless the caller names it: the ``ffmpeg`` field."""
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


def _bundled_ffmpeg() -> str | None:
    try:
        import imageio_ffmpeg
    except ImportError:
        return None
    try:
        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except RuntimeError:  # the wheel carries no binary for this platform
        return None


@dataclass(frozen=True)
class Probe:
    """What one run of ``ffmpeg -encoders`` tells: the version and the video encoders."""

    version: str
    encoders: frozenset[str]


def probe_ffmpeg(path: str) -> Probe | None:
    """Run ``path -encoders`` once: its banner has the version, its stdout the encoders.

    None if it does not run, fails, or is not an ffmpeg. One run instead of
    ``-version`` then ``-encoders`` saves a process start on every recording.
    """
    try:
        result = run_tool([path, "-encoders"], timeout=VERSION_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if result.returncode != 0:
        return None
    match = _VERSION_RE.match(result.stderr.decode("utf-8", "replace"))
    if match is None:
        return None
    text = result.stdout.decode("utf-8", "replace")
    encoders = frozenset(m.group(1) for line in text.splitlines() if (m := _ENCODER_RE.match(line)))
    return Probe(version=match.group(1), encoders=encoders)


def cached_probe(path: str, *, cache: ProbeCache, probe: Callable[[str], Probe | None] = probe_ffmpeg) -> Probe | None:
    """:func:`probe_ffmpeg` through ``cache``, keyed by the binary's real path, size and mtime.

    Only answers are cached: a binary that does not work is asked again next time.
    """
    key = binary_key(path)
    entry = cache.get(key) if key is not None else None
    if entry is not None:
        version, encoders = entry.get("version"), entry.get("encoders")
        if isinstance(version, str) and isinstance(encoders, list) and all(isinstance(e, str) for e in encoders):
            return Probe(version=version, encoders=frozenset(encoders))
    found = probe(path)
    if found is not None and key is not None:
        cache.update(key, version=found.version, encoders=sorted(found.encoders))
    return found


def probe_version(path: str) -> str | None:
    """The version string of the ffmpeg at ``path``, or None if it does not work."""
    probe = probe_ffmpeg(path)
    return None if probe is None else probe.version


def find_ffmpeg(
    *,
    explicit: str | None = None,
    explicit_origin: str = EXPLICIT_ORIGIN,
    which: Callable[[str], str | None] = shutil.which,
    bundled: Callable[[], str | None] = _bundled_ffmpeg,
    probe: Callable[[str], Probe | None] = probe_ffmpeg,
) -> FFmpegBinary:
    """Find a working ffmpeg in caprec's order and return it with its version.

    ``explicit_origin`` names where ``explicit`` came from for the error and
    :attr:`FFmpegBinary.origin` (the marked ``ffmpeg`` field unless the
    caller says better: a flag, a variable, a config key). Collaborators are arguments so tests can
    hand in fakes. Raises :class:`FFmpegNotFoundError` naming everything
    that was tried.
    """
    if explicit:
        resolved = which(explicit) or explicit
        found = probe(resolved)
        if found is None:
            # The engine cannot tell a flag from a variable or a config key: "remove it" fits each.
            raise FFmpegNotFoundError(f"{explicit_origin} names {explicit!r}, which is not a working ffmpeg; "
                                      "fix the path or remove it")
        return FFmpegBinary(resolved, found.version, explicit_origin, found.encoders)
    tried: list[str] = []
    on_path = which("ffmpeg")
    if on_path is None:
        tried.append("ffmpeg on PATH (not found)")
    elif (found := probe(on_path)) is not None:
        return FFmpegBinary(on_path, found.version, "PATH", found.encoders)
    else:
        tried.append(f"{on_path} (does not run)")
    packaged = bundled()
    if packaged is None:
        tried.append("imageio-ffmpeg's binary (not installed)")
    elif (found := probe(packaged)) is not None:
        return FFmpegBinary(packaged, found.version, "imageio-ffmpeg", found.encoders)
    else:
        tried.append(f"imageio-ffmpeg's {packaged} (does not run)")
    raise FFmpegNotFoundError(
        "no usable ffmpeg: tried " + ", ".join(tried)
        + "; install ffmpeg (apt-get install ffmpeg, brew install ffmpeg) or pass `ffmpeg` PATH"
    )
