"""Output paths: checks before recording, remux and verification after."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from caprec.capture.errors import OutputError
from caprec.capture.ffmpeg.argv import build_concat_argv, build_remux_argv, build_verify_argv, container_for
from caprec.capture.ffmpeg.process import ToolResult, run_tool
from caprec.capture.files.tempfiles import NAME_MAX, OwnedTemp, owned_temp

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
    a directory, a missing or unwritable parent directory, a name longer than
    the filesystem takes.
    """
    size = len(os.fsencode(path.name))
    if size > NAME_MAX:
        raise OutputError(f"the file name is {size} bytes; file systems take at most {NAME_MAX}: "
                          "choose a shorter `output`")
    if path.is_dir():
        raise OutputError(f"{path} is a directory; give a file name such as {path / default_output_name()}")
    if path.exists() and not overwrite:
        raise OutputError(f"{path} already exists; pass `overwrite` or choose another name")
    parent = path.absolute().parent
    if not parent.is_dir():
        raise OutputError(f"directory {parent} does not exist; create it first or choose another `output`")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"directory {parent} is not writable; choose another `output`")


def moved_output(path: Path, *, identity: tuple[int, int] | None, last_location: str | None) -> str | None:
    """Why ``path`` no longer names the file a recording wrote (renamed, deleted), or None if it does.

    ``identity`` is the written file's (st_dev, st_ino); ``last_location``
    where its descriptor pointed when it was closed (Linux /proc), which
    follows renames of the file and of its directories.
    """
    if identity is None:
        return None
    with contextlib.suppress(OSError):
        info = os.stat(path)
        if (info.st_dev, info.st_ino) == identity:
            return None
    if last_location is not None and last_location.endswith(" (deleted)"):
        return f"{path} was deleted during the recording (or its directory was); the recording is lost"
    if last_location is not None and os.path.isabs(last_location):
        return f"{path} was renamed during the recording; the recording is intact in {last_location}"
    parent = path.absolute().parent
    if not parent.is_dir():
        return f"the directory {parent} was deleted or renamed during the recording; the recording is not in {path}"
    with contextlib.suppress(OSError):
        for entry in os.scandir(parent):
            if entry.inode() == identity[1] and entry.stat(follow_symlinks=False).st_dev == identity[0]:
                return f"{path} was renamed during the recording; the recording is intact in {entry.path}"
    return f"{path} was deleted or moved during the recording; the recording is not there any more"


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


def remux_checked(path: Path, *, ffmpeg_path: str) -> tuple[MediaCheck | None, str | None]:
    """Rewrite fragmented ``path`` as a regular file with its index first, in its extension's container.

    Stream copy into a temporary sibling caprec created (see
    :mod:`caprec.capture.files.tempfiles`), then an atomic rename over ``path``: at every
    moment ``path`` is a playable file. The copy is also the file's read-back:
    one pass over it, not two. Returns what the copy read (frames, duration,
    codec) and None, or None and why it failed (``path`` is left as it was).
    """
    try:
        size = path.stat().st_size
        with owned_temp(path, "remux") as temp:
            argv = build_remux_argv(ffmpeg_path=ffmpeg_path, source=ffmpeg_file_url(path),
                                    destination=ffmpeg_file_url(temp.path), container=container_for(path),
                                    check=True)
            return _copy_then_rename(argv, temp=temp, destination=path, size=size, what="remux")
    except OSError as exc:
        return None, str(exc.strerror or exc)


@dataclass(frozen=True)
class ConcatParts:
    """The parts of a join as FFmpeg's concat list names them (``urls``), and the descriptors it inherits (``fds``)."""

    urls: list[str]
    fds: list[int]


@contextlib.contextmanager
def opened_parts(parts: list[Path], *, platform: str = sys.platform) -> Iterator[ConcatParts]:
    """The ``parts`` of a join, named for FFmpeg's concat list.

    POSIX: each part is opened read-only (never through a link) and named
    ``/dev/fd/N``. Passing descriptors keeps the join independent of the
    names (a newline or a quote in a name cannot break FFmpeg's concat list),
    and FFmpeg reads exactly the files caprec checked. Windows has no
    ``/dev/fd`` and cannot hand descriptors to a child (subprocess has no
    ``pass_fds`` there): the parts are named by absolute path, which cannot
    hold a newline there; :func:`concat_line` quotes the rest.
    """
    if platform == "win32":
        yield ConcatParts(urls=[ffmpeg_file_url(part) for part in parts], fds=[])
        return
    fds: list[int] = []
    try:
        for part in parts:
            fds.append(os.open(part, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)))
        yield ConcatParts(urls=[f"file:/dev/fd/{fd}" for fd in fds], fds=fds)
    finally:
        for fd in fds:
            os.close(fd)


def concat_line(url: str) -> str:
    """One ``file`` line of FFmpeg's concat list: single-quoted, a quote in ``url`` closed, escaped and reopened.

    FFmpeg reads the word with av_get_token: inside quotes everything is literal (a backslash too).
    """
    return "file '" + url.replace("'", "'\\''") + "'\n"


def stream_copy_argv(sources: list[Path], listing: OwnedTemp | None, destination: Path, *,
                     ffmpeg_path: str, parts: ConcatParts | None, container: str = "mp4") -> list[str]:
    """FFmpeg's argv to copy ``sources`` (one: a remux; several: a concat of ``parts``) into ``destination``.

    With several sources the list is written to ``listing`` first. ``container`` is the muxer (mp4, mov,
    matroska). The copy reports its progress (it is the read-back, see
    :func:`remux_checked`).
    """
    if len(sources) == 1:
        return build_remux_argv(ffmpeg_path=ffmpeg_path, source=ffmpeg_file_url(sources[0]),
                                destination=ffmpeg_file_url(destination), container=container, check=True)
    assert listing is not None and parts is not None
    # FFmpeg reads the list's bytes as UTF-8 (its file names too, on Windows).
    text = "ffconcat version 1.0\n" + "".join(concat_line(url) for url in parts.urls)
    os.write(listing.fd, text.encode("utf-8"))
    return build_concat_argv(ffmpeg_path=ffmpeg_path, listing=ffmpeg_file_url(listing.path),
                             destination=ffmpeg_file_url(destination), container=container)


def join_checked(parts: list[Path], destination: Path, *, ffmpeg_path: str,
                 platform: str = sys.platform) -> tuple[MediaCheck | None, str | None]:
    """Join ``parts`` in order by stream copy into ``destination`` (index first).

    Writes a temporary sibling and renames it over ``destination`` (which
    may be ``parts[0]``): at every moment the files on disk play. The copy is
    also the joined file's read-back (see :func:`remux_checked`). Returns
    what it read and None, or None and why it failed (nothing is changed then).
    """
    try:
        size = sum(part.stat().st_size for part in parts)
        with (owned_temp(destination, "concat") as listing, owned_temp(destination, "join") as temp,
              opened_parts(parts, platform=platform) as named):
            argv = stream_copy_argv(parts, listing, temp.path, ffmpeg_path=ffmpeg_path, parts=named,
                                    container=container_for(destination))
            return _copy_then_rename(argv, temp=temp, destination=destination, size=size, what="joining",
                                     pass_fds=named.fds)
    except OSError as exc:
        return None, str(exc.strerror or exc)


def failure_reason(result: ToolResult) -> str:
    """Why a helper FFmpeg run failed: its last error line (its log is at info level), else its exit code."""
    lines = result.stderr.decode("utf-8", "replace").strip().splitlines()
    problems = [line for line in lines if _PROBLEM_LINE.search(line)] or lines
    return problems[-1] if problems else f"ffmpeg exited with code {result.returncode}"


def _copy_then_rename(argv: list[str], *, temp: OwnedTemp, destination: Path, size: int, what: str,
                      pass_fds: list[int] | None = None) -> tuple[MediaCheck | None, str | None]:
    """Run a stream-copy ``argv`` that writes ``temp``, then rename it over ``destination``.

    The timeout grows with ``size``. Returns what the copy read and None on
    success, else None and why it failed.
    """
    timeout = REMUX_TIMEOUT_FLOOR + size / REMUX_BYTES_PER_SECOND
    try:
        result = run_tool(argv, timeout=timeout, pass_fds=pass_fds or ())
        if result.returncode != 0:
            return None, failure_reason(result)
        temp.commit(destination)
    except subprocess.TimeoutExpired:
        return None, f"{what} took longer than {timeout:.0f} s"
    except OSError as exc:
        return None, str(exc.strerror or exc)
    return _media_of(result), None
