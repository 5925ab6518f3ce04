"""The file-level steps of a recovery: refuse files still in use, rewrite a file (or join several) by stream
copy with its frames checked, cut a torn last fragment or cursor line, clear a killed run's temporary copies.

Each step leaves the files on disk playable at every moment: a rewrite goes
to a temporary sibling and is renamed over the original only when it holds
the frames read before.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from caprec.capture.cursor.format import CursorFormatError
from caprec.capture.cursor.reader import summarize_cursor_log
from caprec.capture.errors import DiskFullError, OutputError
from caprec.capture.ffmpeg.argv import container_for
from caprec.capture.ffmpeg.finish import (
    REMUX_BYTES_PER_SECOND,
    REMUX_TIMEOUT_FLOOR,
    MediaCheck,
    failure_reason,
    ffmpeg_file_url,
    opened_parts,
    stream_copy_argv,
    verify_media,
)
from caprec.capture.ffmpeg.process import run_tool
from caprec.capture.files.lock import locked_by_other
from caprec.capture.files.mp4boxes import Mp4Layout
from caprec.capture.files.tempfiles import OwnedTemp, owned_temp, remove_leftovers
from caprec.capture.record.pump import is_disk_full
from caprec.capture.studio.report import CursorReport

# A stream copy may lose the one packet a torn last fragment cut in half;
# more than that per file means FFmpeg stopped early (the concat demuxer
# does that, exiting 0, on a broken packet in a middle file).
FRAMES_LOST_PER_FILE = 1
# What FFmpeg prints when a write fails with ENOSPC.
DISK_FULL_TEXT = "No space left on device"


def _open_by(paths: list[Path]) -> int | None:
    """Another process that has one of ``paths`` open (Linux /proc), or None."""
    if not sys.platform.startswith("linux"):
        return None
    wanted = {os.path.realpath(path) for path in paths}
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        with contextlib.suppress(OSError):
            for fd in (entry / "fd").iterdir():
                with contextlib.suppress(OSError):
                    if os.readlink(fd) in wanted:
                        return int(entry.name)
    return None


def refuse_if_in_use(paths: list[Path]) -> None:
    held = locked_by_other(paths)
    if held is not None:
        raise OutputError(f"a running caprec holds {held} (recording or paused); stop that recording first, "
                          "then recover what it left")
    pid = _open_by([path for path in paths if path.exists()])
    if pid is not None:
        raise OutputError(f"process {pid} still has the recording open (is it still recording?); "
                          "stop that recording first, then recover what it left")


def stream_copy_into(sources: list[Path], destination: OwnedTemp, *, ffmpeg_path: str,
          max_frames: int | None = None) -> str | None:
    """Stream-copy ``sources`` (joined in order) into ``destination`` with the index first.

    One source is a plain remux; several go through the concat demuxer,
    the parts passed as descriptors where the platform can (see
    :func:`caprec.capture.ffmpeg.finish.opened_parts`).
    Returns None on success, else why not.
    """
    timeout = REMUX_TIMEOUT_FLOOR + sum(path.stat().st_size for path in sources) / REMUX_BYTES_PER_SECOND
    with contextlib.ExitStack() as stack:
        listing = stack.enter_context(owned_temp(destination.path, "concat")) if len(sources) > 1 else None
        named = stack.enter_context(opened_parts(sources)) if len(sources) > 1 else None
        argv = stream_copy_argv(sources, listing, destination.path, ffmpeg_path=ffmpeg_path, parts=named,
                                container=container_for(destination.path))
        if max_frames is not None:
            at = argv.index(ffmpeg_file_url(destination.path))
            argv[at:at] = ["-frames:v", str(max_frames)]  # an output option: before the destination
        try:
            result = run_tool(argv, timeout=timeout, pass_fds=named.fds if named is not None else ())
        except subprocess.TimeoutExpired:
            return f"ffmpeg took longer than {timeout:.0f} s"
        except OSError as exc:
            return f"cannot run {ffmpeg_path}: {exc.strerror or exc}"
    if result.returncode != 0:
        lines = result.stderr.decode("utf-8", "replace").strip().splitlines()
        if any(DISK_FULL_TEXT in line for line in lines):
            raise DiskFullError(f"the disk holding {destination.path.parent} is full; free some space, "
                                "then run `caprec recover` again (nothing was changed)")
        return failure_reason(result)
    return None


def rewrite_verified(sources: list[Path], destination: Path, *, expected_frames: int,
                     ffmpeg_path: str, torn_end: bool = False,
                     sync: Callable[[int], None] = os.fsync) -> tuple[MediaCheck | None, str | None]:
    """Copy ``sources`` into a temporary sibling of ``destination``, check it, rename it over ``destination``.

    The copy must hold at least ``expected_frames`` minus
    :data:`FRAMES_LOST_PER_FILE` per source, else nothing is changed and the
    reason is returned. Returns (what the new file holds, None) on success.
    ``torn_end``: the last source ends in a packet cut in half, which FFmpeg
    counts and copies but no decoder reads ("Invalid NAL unit size"); the
    copy stops before it. Raises :class:`DiskFullError` when the disk has no
    room for the copy.
    ``sync`` makes the copy durable before the rename, through the copy's own
    writable descriptor (Windows' FlushFileBuffers refuses a read-only one).
    """
    try:
        with owned_temp(destination, "recover") as temp:
            why = stream_copy_into(sources, temp, ffmpeg_path=ffmpeg_path,
                        max_frames=expected_frames - 1 if torn_end else None)
            if why is not None:
                return None, why
            media = verify_media(temp.path, ffmpeg_path=ffmpeg_path)
            floor = expected_frames - FRAMES_LOST_PER_FILE * len(sources)
            if media.frames < floor:
                return None, f"the rewritten file held {media.frames} of {expected_frames} frames; kept the originals"
            temp.commit(destination, sync=sync)  # the file keeps its permissions
            return media, None
    except OSError as exc:
        if is_disk_full(exc):
            raise DiskFullError(f"the disk holding {destination.parent} is full; free some space, "
                                "then run `caprec recover` again (nothing was changed)") from None
        return None, str(exc.strerror or exc)


def trim_to_fragments(path: Path, layout: Mp4Layout) -> bool:
    """Cut a torn last fragment off a file that must be joined to a later one.

    FFmpeg's concat demuxer stops (and exits 0) at a packet cut in half in
    the middle of its input; the last whole fragment is the safe end.
    Returns True if the file was shortened.
    """
    if not layout.torn or layout.fragment_end == 0:
        return False
    os.truncate(path, layout.fragment_end)
    return True


def leftover_notes(paths: list[Path]) -> list[str]:
    """Delete the temporary copies killed caprec runs left beside ``paths``; one note per file removed."""
    return [f"removed {leftover.name}, a temporary copy a killed caprec left"
            for path in paths for leftover in remove_leftovers(path)]


def check_cursor_log(path: Path) -> CursorReport | None:
    """Read a cursor log back; cut off a torn last line (a write the kill cut short).

    Returns None when there is no log at ``path``. A log whose header is
    unreadable is reported with 0 events and the reason, and left alone.
    """
    if not path.is_file():
        return None
    torn = False
    data_end = _last_newline_end(path)
    size = path.stat().st_size
    if data_end is not None and 0 < data_end < size:
        os.truncate(path, data_end)
        torn = True
    try:
        summary = summarize_cursor_log(path)
    except (CursorFormatError, OSError) as exc:
        return CursorReport(path=path, events=0, torn_line_removed=False, warnings=(str(exc),))
    warnings = tuple(summary.warnings) + (("an incomplete last line was removed",) if torn else ())
    return CursorReport(path=path, events=summary.events, torn_line_removed=torn, warnings=warnings)


def _last_newline_end(path: Path) -> int | None:
    """The offset just after the file's last newline; None if it has none."""
    chunk = 64 * 1024
    with path.open("rb") as handle:
        end = handle.seek(0, os.SEEK_END)
        position = end
        while position > 0:
            start = max(0, position - chunk)
            handle.seek(start)
            data = handle.read(position - start)
            found = data.rfind(b"\n")
            if found >= 0:
                return start + found + 1
            position = start
    return None
