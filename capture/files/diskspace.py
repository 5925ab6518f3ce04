"""Free disk space: refuse to start, warn, and stop cleanly before the disk fills.

A recording that hits a full disk still plays (the fragmented MP4 is valid up
to its last fragment), but it loses the end, the clean stop and the rewrite
with the index first. caprec therefore looks at the free space of the output's
filesystem before it starts and, cheaply, while it records.

The thresholds (free bytes available to caprec's user, as ``statvfs``
``f_bavail`` reports them):

- :data:`REFUSE_BELOW_BYTES` (200 MiB): refuse to start. What is left above
  the stop threshold (136 MiB) holds about a minute of a busy 1080p screen
  at 20 Mbit/s and several minutes of a typical one at 2-4 Mbit/s (x264
  ``veryfast``, CRF 23): less is not worth starting. Cap refuses under
  500 MB, but it records raw studio tracks; caprec writes one compressed
  stream.
- :data:`WARN_BELOW_BYTES` (1 GiB): start, with a warning. 1 GiB is about
  7 minutes of the busy screen; the rewrite at a clean stop (``+faststart``,
  into a temporary sibling) needs the file's size a second time.
- :data:`STOP_BELOW_BYTES` (64 MiB): stop the recording cleanly. FFmpeg
  still has to write its last fragment (a keyframe every second: a few MiB
  at most), the cursor log and the stats file flush, and a disk run to zero
  breaks other programs too. 64 MiB covers all of it with room to spare.
- :data:`CHECK_INTERVAL_S` (1 s): how often :class:`DiskWatch` asks the
  filesystem. ``statvfs`` costs microseconds; at 20 Mbit/s a second is
  2.5 MB, far inside the 64 MiB margin, and the bytes written since the last
  check bring the next one forward when they eat into the margin.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from caprec.capture.errors import DiskFullError
from caprec.capture.units import format_bytes

MIB = 1024 * 1024
GIB = 1024 * MIB
REFUSE_BELOW_BYTES = 200 * MIB
WARN_BELOW_BYTES = 1 * GIB
STOP_BELOW_BYTES = 64 * MIB
CHECK_INTERVAL_S = 1.0

FreeBytes = Callable[[Path], int]


class DiskSpaceError(DiskFullError):
    """Too little free space to start (or to go on) recording.

    A :class:`DiskFullError` (exit code 4, "disk"), raised before anything is
    written: the message names the free space, the directory and the fix.
    """


def existing_ancestor(path: Path) -> Path:
    """``path`` made absolute, or its nearest ancestor that exists (an output file is not there yet)."""
    candidate = Path(os.path.abspath(path))
    while not candidate.exists() and candidate.parent != candidate:
        candidate = candidate.parent
    return candidate


def free_bytes(path: Path) -> int:
    """Bytes free for this user on the filesystem that holds ``path``.

    ``path`` need not exist: its nearest existing ancestor is measured.
    Raises ``OSError`` when the filesystem cannot be queried.
    """
    return shutil.disk_usage(existing_ancestor(path)).free


def check_start(path: Path, *, free: FreeBytes = free_bytes) -> str | None:
    """Whether a recording to ``path`` (a file or a directory) may start.

    Returns None when there is plenty of room, a warning line when free
    space is below :data:`WARN_BELOW_BYTES`, and raises
    :class:`DiskSpaceError` below :data:`REFUSE_BELOW_BYTES`. When the free
    space cannot be read the answer is a warning, not a refusal: the disk
    watch and the write errors still protect the recording.
    """
    where = existing_ancestor(path)
    try:
        available = free(path)
    except OSError as exc:
        return f"cannot tell how much space is free in {where} ({exc.strerror or exc}); recording anyway"
    if available < REFUSE_BELOW_BYTES:
        raise DiskSpaceError(
            f"only {format_bytes(available)} free in {where}; caprec needs {format_bytes(REFUSE_BELOW_BYTES)} "
            "to start a recording: free some space, or record to another disk with `output` or `output_dir`"
        )
    if available < WARN_BELOW_BYTES:
        return (f"only {format_bytes(available)} free in {where}; caprec stops the recording cleanly when less "
                f"than {format_bytes(STOP_BELOW_BYTES)} is left")
    return None


def has_room(path: Path, needed: int, *, free: FreeBytes = free_bytes, reserve: int = STOP_BELOW_BYTES) -> bool:
    """Whether ``needed`` more bytes fit beside ``path`` and still leave ``reserve`` free.

    For the rewrite at a clean stop, which copies the whole file into a
    temporary sibling: when it does not fit, keep the fragmented file (it
    plays) instead of filling the disk. False when free space cannot be read.
    """
    try:
        return free(path) - needed >= reserve
    except OSError:
        return False


class DiskWatch:
    """Tells a running recording when free space falls below :data:`STOP_BELOW_BYTES`.

    Cheap to call every tick: the filesystem is asked at most once per
    ``interval`` seconds of ``clock``, or sooner when the bytes written since
    the last look would already have taken free space below the threshold.
    Once it has said stop it keeps saying so. A failed look (``OSError``)
    never stops a recording: real write errors are caught by the pump.

    The recorder creates one per recording with the output path and asks it
    from its watch loop, after the other end conditions::

        disk = DiskWatch(target.path) if target.path is not None else None
        ...
        if disk is not None and disk.should_stop(pump.stats().bytes):
            notes.append(disk.message())
            return "disk-low"

    then stops FFmpeg as for a user stop (``q``: the file is finished), and
    skips the rewrite when :func:`has_room` says the copy would not fit.
    """

    def __init__(self, path: Path, *, stop_below: int = STOP_BELOW_BYTES, interval: float = CHECK_INTERVAL_S,
                 clock: Callable[[], float] = time.monotonic, free: FreeBytes = free_bytes) -> None:
        self.path = path
        self.stop_below = stop_below
        self.interval = interval
        self._clock = clock
        self._free = free
        self._next_check: float | None = None
        self._free_at_check: int | None = None
        self._written_at_check = 0
        self._stopped = False

    def should_stop(self, bytes_written: int) -> bool:
        """True once free space is below the threshold; ``bytes_written`` is the recording's size so far."""
        if self._stopped:
            return True
        now = self._clock()
        if self._next_check is not None and now < self._next_check and not self._margin_used(bytes_written):
            return False
        self._next_check = now + self.interval
        try:
            available = self._free(self.path)
        except OSError:
            # Without a fresh figure the estimate would keep forcing looks every tick.
            self._free_at_check = None
            return False
        self._free_at_check = available
        self._written_at_check = bytes_written
        self._stopped = available < self.stop_below
        return self._stopped

    def _margin_used(self, bytes_written: int) -> bool:
        """Whether the writes since the last look may have crossed the threshold already."""
        if self._free_at_check is None:
            return False
        return self._free_at_check - (bytes_written - self._written_at_check) < self.stop_below

    def message(self) -> str:
        """Why the recording stopped, for the result's notes."""
        left = format_bytes(self._free_at_check) if self._free_at_check is not None else "too little"
        return (f"stopped early: only {left} free in {existing_ancestor(self.path)} (caprec stops below "
                f"{format_bytes(self.stop_below)} so that the file is finished); free some space and record again")
