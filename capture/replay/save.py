"""Writing a replay clip to disk: a regular MP4 (index first), verified, under a fresh name.

The clip's fragments go to a hidden temporary sibling (created with
``O_EXCL``, never through a symlink), FFmpeg stream-copies it into a second
temporary sibling with ``+faststart``, the copy is read back (every frame
must be there), and only then is it published under
``NAME-YYYYmmdd-HHMMSS.mp4``: with a hard link, which fails instead of
replacing a file that appeared meanwhile (then ``-2``, ``-3``... are tried).
The name never shows a half-written file. The cursor log's slice goes
beside it as ``<stem>.cursor.ndjson``, created exclusively.
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from caprec.capture.errors import CaptureError
from caprec.capture.ffmpeg.argv import build_remux_argv
from caprec.capture.ffmpeg.finish import REMUX_BYTES_PER_SECOND, REMUX_TIMEOUT_FLOOR, ffmpeg_file_url, verify_media
from caprec.capture.ffmpeg.process import run_tool
from caprec.capture.replay.ring import Clip

DEFAULT_CLIP_NAME = "caprec"
CLIP_SUFFIX = ".mp4"
CURSOR_SUFFIX = ".cursor.ndjson"
STAMP_FORMAT = "%Y%m%d-%H%M%S"
# -2, -3, ... after a name that is taken; past this something is wrong (a loop of saves in one second).
MAX_NAME_TRIES = 1000
# A stream copy may drop one packet at a cut; more means the copy is incomplete.
FRAMES_LOST_ALLOWED = 1
# A clip this much shorter than asked is "short" (its message says why).
SHORT_TOLERANCE_S = 0.05
NEW_FILE_MODE = 0o666  # less the user's umask, like open()
PRIVATE_FILE_MODE = 0o600
_EXCLUSIVE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
# Hard links are not supported everywhere (FAT, some network filesystems).
_NO_LINK_ERRNOS = frozenset({errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK})


class SaveError(CaptureError):
    """A replay clip could not be written; the buffer goes on."""


@dataclass(frozen=True)
class ClipPattern:
    """Where clips go and how they are named: ``DIRECTORY/NAME-YYYYmmdd-HHMMSS.mp4``."""

    directory: Path
    name: str = DEFAULT_CLIP_NAME

    def stem(self, when: datetime, attempt: int = 1) -> str:
        """``NAME-YYYYmmdd-HHMMSS``, with ``-N`` from the second attempt on."""
        stem = f"{self.name}-{when.strftime(STAMP_FORMAT)}"
        return stem if attempt == 1 else f"{stem}-{attempt}"

    def __str__(self) -> str:
        return str(self.directory / f"{self.name}-YYYYmmdd-HHMMSS{CLIP_SUFFIX}")


@dataclass(frozen=True)
class SavedClip:
    """A clip on disk: where, how long, how many frames; ``cursor`` is its cursor log, if any."""

    path: Path
    duration_s: float
    frames: int
    wanted_s: float
    memory_limited: bool
    cursor: Path | None = None

    @property
    def short(self) -> bool:
        """Holds less than was asked for (the recording was younger, or memory was bounded)."""
        return self.duration_s < self.wanted_s - SHORT_TOLERANCE_S


def save_clip(clip: Clip, pattern: ClipPattern, *, ffmpeg_path: str, when: datetime,
              cursor_log: bytes | None = None) -> SavedClip:
    """Write ``clip`` (and its cursor log) under a fresh name in ``pattern.directory``.

    Raises :class:`SaveError` naming what failed; no temporary file outlives the call.
    """
    directory = pattern.directory
    token = uuid.uuid4().hex[:12]
    raw = directory / f".{pattern.name}.replay-{token}.frag{CLIP_SUFFIX}"
    finished = directory / f".{pattern.name}.replay-{token}{CLIP_SUFFIX}"
    try:
        _write_new(raw, clip.chunks(), mode=PRIVATE_FILE_MODE)
        _write_new(finished, (), mode=NEW_FILE_MODE)  # reserve the name; ffmpeg writes into our own file
        _remux(raw, finished, ffmpeg_path=ffmpeg_path, size=clip.size)
        media = verify_media(finished, ffmpeg_path=ffmpeg_path)
        if media.frames < clip.frames - FRAMES_LOST_ALLOWED:
            raise SaveError(f"the saved clip held {media.frames} of {clip.frames} frames; nothing was kept")
        _fsync(finished)
        path = _publish(finished, pattern, when, with_cursor=cursor_log is not None)
    except OSError as exc:
        raise SaveError(f"cannot write a clip in {directory} ({exc.strerror or exc})") from None
    finally:
        for temp in (raw, finished):
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
    cursor_path = None
    if cursor_log is not None:
        cursor_path = path.with_name(path.name[: -len(CLIP_SUFFIX)] + CURSOR_SUFFIX)
        try:
            _write_new(cursor_path, (cursor_log,), mode=NEW_FILE_MODE)
        except OSError:
            cursor_path = None  # the clip is what matters; the caller says the log is missing
    return SavedClip(path=path, duration_s=media.duration_s, frames=media.frames, wanted_s=clip.wanted_s,
                     memory_limited=clip.memory_limited, cursor=cursor_path)


def _write_new(path: Path, chunks: Iterable[bytes], *, mode: int) -> None:
    """Create ``path`` (never existing, never a symlink) and write ``chunks``."""
    fd = os.open(path, _EXCLUSIVE, mode)
    try:
        for chunk in chunks:
            view = memoryview(chunk)
            while view:
                view = view[os.write(fd, view):]
    except BaseException:
        os.close(fd)
        path.unlink(missing_ok=True)
        raise
    os.close(fd)


def _remux(source: Path, destination: Path, *, ffmpeg_path: str, size: int) -> None:
    """Stream-copy fragmented ``source`` into a regular MP4 with the index first."""
    argv = build_remux_argv(ffmpeg_path=ffmpeg_path, source=ffmpeg_file_url(source),
                            destination=ffmpeg_file_url(destination))
    timeout = REMUX_TIMEOUT_FLOOR + size / REMUX_BYTES_PER_SECOND
    try:
        result = run_tool(argv, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise SaveError(f"ffmpeg took longer than {timeout:.0f} s to write the clip") from None
    if result.returncode != 0:
        lines = result.stderr.decode("utf-8", "replace").strip().splitlines()
        raise SaveError(f"ffmpeg could not write the clip: {lines[-1] if lines else result.returncode}")


def _publish(temp: Path, pattern: ClipPattern, when: datetime, *, with_cursor: bool) -> Path:
    """Give ``temp`` its final name without ever replacing a file; returns that name."""
    for attempt in range(1, MAX_NAME_TRIES + 1):
        stem = pattern.stem(when, attempt)
        final = pattern.directory / f"{stem}{CLIP_SUFFIX}"
        if with_cursor and os.path.lexists(final.with_name(stem + CURSOR_SUFFIX)):
            continue
        try:
            os.link(temp, final, follow_symlinks=False)
        except FileExistsError:
            continue
        except OSError as exc:
            if exc.errno not in _NO_LINK_ERRNOS:
                raise
            # No hard links here: reserve the name exclusively, then rename over our own empty file.
            try:
                _write_new(final, (), mode=NEW_FILE_MODE)
            except FileExistsError:
                continue
            os.replace(temp, final)
        return final
    raise SaveError(f"no free name for {pattern} after {MAX_NAME_TRIES} tries")


def _fsync(path: Path) -> None:
    # Opened for writing: on Windows fsync is FlushFileBuffers, which refuses a read-only handle (EBADF).
    fd = os.open(path, os.O_RDWR | getattr(os, "O_NOFOLLOW", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
