"""Output paths: checks before recording, remux and verification after."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from capture.command import build_concat_argv, build_remux_argv, build_verify_argv
from capture.errors import OutputError
from capture.process import ToolResult, run_tool

DEFAULT_NAME_FORMAT = "caprec-%Y%m%d-%H%M%S.mp4"
# Stream copy runs at disk speed; allow a floor plus 1 s per 20 MB.
REMUX_TIMEOUT_FLOOR = 60.0
REMUX_BYTES_PER_SECOND = 20 * 1024 * 1024
_VERIFY_FRAME = re.compile(r"^frame=(\d+)$", re.MULTILINE)
_VERIFY_TIME = re.compile(r"^out_time_us=(\d+)$", re.MULTILINE)
_PROBLEM_LINE = re.compile(r"\[(?:error|fatal|panic)\]")
_VERIFY_CODEC = re.compile(r"Stream #0:\d+.*?: Video: (\w+)")


def default_output_name(now: datetime | None = None) -> str:
    """``caprec-YYYYmmdd-HHMMSS.mp4`` for the local time ``now``."""
    return (now or datetime.now()).strftime(DEFAULT_NAME_FORMAT)


def ffmpeg_file_url(path: Path) -> str:
    """An unambiguous FFmpeg URL for a local path.

    The ``file:`` prefix and an absolute path stop FFmpeg from reading a
    name like ``-x.mp4`` as an option or ``a:b.mp4`` as protocol ``a``.
    """
    return "file:" + str(path.absolute())


def check_output_path(path: Path, *, overwrite: bool) -> None:
    """Refuse an output that cannot be written, before anything starts.

    Raises :class:`OutputError` for an existing file (without ``overwrite``),
    a directory, a missing or unwritable parent directory.
    """
    if path.is_dir():
        raise OutputError(f"{path} is a directory; give a file name such as {path / default_output_name()}")
    if path.exists() and not overwrite:
        raise OutputError(f"{path} already exists; pass --overwrite or choose another name")
    parent = path.absolute().parent
    if not parent.is_dir():
        raise OutputError(f"directory {parent} does not exist; create it first or choose another -o")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"directory {parent} is not writable; choose another -o")


def sibling_temp(path: Path, tag: str) -> Path:
    """A hidden temporary name beside ``path`` (same filesystem: rename is atomic)."""
    return path.with_name(f".{path.name}.{tag}-{os.getpid()}{path.suffix}")


@dataclass(frozen=True)
class MediaCheck:
    """What FFmpeg read back from a finished file."""

    frames: int
    duration_s: float
    codec: str | None

    @property
    def playable(self) -> bool:
        return self.frames > 0


def verify_media(path: Path, *, ffmpeg_path: str) -> MediaCheck:
    """Read every video packet of ``path`` back (stream copy, no decode).

    This needs only ffmpeg, so it works with imageio-ffmpeg's binary, which
    ships no ffprobe.
    """
    try:
        result = run_tool(build_verify_argv(ffmpeg_path=ffmpeg_path, path=ffmpeg_file_url(path)))
    except (OSError, subprocess.TimeoutExpired):
        return MediaCheck(frames=0, duration_s=0.0, codec=None)
    return _media_of(result)


def _media_of(result: ToolResult) -> MediaCheck:
    """What a stream copy with ``-progress pipe:1`` read: its last progress block and the input's codec."""
    out = result.stdout.decode("utf-8", "replace")
    err = result.stderr.decode("utf-8", "replace")
    frames = [int(m) for m in _VERIFY_FRAME.findall(out)]
    times = [int(m) for m in _VERIFY_TIME.findall(out)]
    codec = _VERIFY_CODEC.search(err)
    if result.returncode != 0:
        return MediaCheck(frames=0, duration_s=0.0, codec=codec.group(1) if codec else None)
    return MediaCheck(frames=frames[-1] if frames else 0, duration_s=(times[-1] / 1e6) if times else 0.0,
                      codec=codec.group(1) if codec else None)


def remux_faststart(path: Path, *, ffmpeg_path: str) -> str | None:
    """Rewrite fragmented ``path`` as a regular MP4 with ``moov`` first.

    Stream copy into a temporary sibling, then an atomic rename over
    ``path``: at every moment ``path`` is a playable file. Returns None on
    success, else why it failed (``path`` is left as it was).
    """
    return remux_checked(path, ffmpeg_path=ffmpeg_path)[1]


def remux_checked(path: Path, *, ffmpeg_path: str) -> tuple[MediaCheck | None, str | None]:
    """:func:`remux_faststart` that is also the file's read-back: one pass over it, not two.

    Returns what the copy read (frames, duration, codec) and None, or None
    and why it failed (``path`` is left as it was).
    """
    temp = sibling_temp(path, "remux")
    argv = build_remux_argv(ffmpeg_path=ffmpeg_path, source=ffmpeg_file_url(path),
                            destination=ffmpeg_file_url(temp), check=True)
    return _copy_then_rename(argv, temp=temp, destination=path, size=path.stat().st_size, what="remux")


def _concat_line(path: Path) -> str:
    # The concat demuxer's quoting: single quotes, with ' written as '\''.
    return "file '" + str(path.absolute()).replace("'", "'\\''") + "'\n"


def join_segments(parts: list[Path], destination: Path, *, ffmpeg_path: str) -> str | None:
    """Join ``parts`` in order by stream copy into ``destination`` (index first).

    Writes a temporary sibling and renames it over ``destination`` (which
    may be ``parts[0]``): at every moment the files on disk play. Returns
    None on success, else why it failed (nothing is changed then).
    """
    return join_checked(parts, destination, ffmpeg_path=ffmpeg_path)[1]


def join_checked(parts: list[Path], destination: Path, *,
                 ffmpeg_path: str) -> tuple[MediaCheck | None, str | None]:
    """:func:`join_segments` that is also the joined file's read-back (see :func:`remux_checked`)."""
    listing = sibling_temp(destination, "concat").with_suffix(".txt")
    temp = sibling_temp(destination, "join")
    try:
        listing.write_text("".join(_concat_line(part) for part in parts), encoding="utf-8")
        argv = build_concat_argv(ffmpeg_path=ffmpeg_path, listing=ffmpeg_file_url(listing),
                                 destination=ffmpeg_file_url(temp))
        return _copy_then_rename(argv, temp=temp, destination=destination,
                                 size=sum(part.stat().st_size for part in parts), what="joining")
    except OSError as exc:
        return None, str(exc)
    finally:
        with contextlib.suppress(FileNotFoundError):
            listing.unlink()


def _copy_then_rename(argv: list[str], *, temp: Path, destination: Path, size: int,
                      what: str) -> tuple[MediaCheck | None, str | None]:
    """Run a stream-copy ``argv`` that writes ``temp``, then rename it over ``destination``.

    The timeout grows with ``size``. Returns what the copy read and None on
    success, else None and why it failed; ``temp`` never outlives the call.
    """
    timeout = REMUX_TIMEOUT_FLOOR + size / REMUX_BYTES_PER_SECOND
    try:
        result = run_tool(argv, timeout=timeout)
        if result.returncode != 0:
            lines = result.stderr.decode("utf-8", "replace").strip().splitlines()
            problems = [line for line in lines if _PROBLEM_LINE.search(line)] or lines
            return None, (problems[-1] if problems else f"ffmpeg exited with {result.returncode}")
        os.replace(temp, destination)
    except subprocess.TimeoutExpired:
        return None, f"{what} took longer than {timeout:.0f} s"
    except OSError as exc:
        return None, str(exc)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
    return _media_of(result), None
