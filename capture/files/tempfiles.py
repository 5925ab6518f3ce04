"""caprec's own temporary files beside an output, and finding the ones a kill left behind.

Every temporary sibling (remux, join, concat list, recover) is created here
by caprec itself: ``tempfile.mkstemp`` in the output's directory, which opens
with ``O_CREAT | O_EXCL | O_NOFOLLOW`` under an unguessable name, so nothing
planted in a shared directory (a symlink, a mode-666 file) is ever written
through or reused. FFmpeg gets the path only after caprec created it.

The name is ``.<output name>.<tag>-<random><suffix>``, the output name cut
so the whole fits ``NAME_MAX``. While caprec works on the file it holds an
exclusive ``flock`` on it; a leftover whose lock can be taken has no live
owner (the kernel drops the lock when its holder dies, so no lock is ever
stale), which is how :func:`remove_leftovers` proves a file is caprec's own.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from caprec.capture.files.lock import try_lock

# Most filesystems cap one name at 255 bytes.
NAME_MAX = 255
# tempfile's random part: 8 characters of [a-z0-9_].
RANDOM_LENGTH = 8
_RANDOM = rf"[a-z0-9_]{{{RANDOM_LENGTH}}}"
TAGS = ("remux", "join", "concat", "recover", "tmp")
# Tags whose file is not media: the suffix says what it is, not the output's.
_OWN_SUFFIX = {"concat": ".txt", "tmp": ".tmp"}
# Like open(): 0o666 less the user's umask.
NEW_FILE_MODE = 0o666


def temp_prefix(path: Path, tag: str) -> str:
    """``.<name>.<tag>-``, the name cut (on a UTF-8 character boundary) to leave room for the rest."""
    suffix = temp_suffix(path, tag)
    room = NAME_MAX - len(f"..{tag}-".encode()) - RANDOM_LENGTH - len(os.fsencode(suffix))
    name = os.fsencode(path.name)
    if len(name) > room:
        name = name[:room]
        while name:
            try:
                name.decode("utf-8")
                break
            except UnicodeDecodeError:
                name = name[:-1]
    return f".{os.fsdecode(name)}.{tag}-"


def temp_suffix(path: Path, tag: str) -> str:
    """The temporary file's suffix: the output's (FFmpeg picks formats by it), or the tag's own."""
    return _OWN_SUFFIX.get(tag, path.suffix)


def current_umask() -> int:
    """The process's umask, read without changing it where the OS tells (Linux /proc).

    Setting and restoring it would race with other threads creating files.
    """
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


@dataclass
class OwnedTemp:
    """A temporary sibling caprec created and holds locked (see :func:`owned_temp`)."""

    path: Path
    fd: int

    def commit(self, destination: Path, *, durable: bool = True, sync: Callable[[int], None] = os.fsync) -> None:
        """Rename this file over ``destination`` (the directory entry, never a link's target).

        The new file takes the permissions of the regular file it replaces
        (else the umask's), not mkstemp's 0600. ``durable`` syncs the data
        first with ``sync`` (``os.fsync``) on this file's own read-write
        descriptor, which Windows' FlushFileBuffers needs. Raises ``OSError``.
        """
        try:
            info = os.lstat(destination)
            mode = stat.S_IMODE(info.st_mode) if stat.S_ISREG(info.st_mode) else None
        except FileNotFoundError:
            mode = None
        if mode is None:
            mode = NEW_FILE_MODE & ~current_umask()
        if hasattr(os, "fchmod"):
            os.fchmod(self.fd, mode)
        if durable:
            sync(self.fd)
        os.replace(self.path, destination)


@contextlib.contextmanager
def owned_temp(path: Path, tag: str) -> Iterator[OwnedTemp]:
    """Create a hidden temporary sibling of ``path`` for ``tag`` and hold it locked.

    Yields an :class:`OwnedTemp`; the file is removed at the end unless it
    was committed. Raises ``OSError`` if it cannot be created.
    """
    directory = path.absolute().parent
    fd, name = tempfile.mkstemp(suffix=temp_suffix(path, tag), prefix=temp_prefix(path, tag), dir=directory)
    temp = Path(name)
    try_lock(fd)
    try:
        yield OwnedTemp(path=temp, fd=fd)
    finally:
        # Unlink before close: the lock is held until the name is gone.
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        os.close(fd)


def leftover_pattern(path: Path) -> re.Pattern[str]:
    """The names of every temporary sibling caprec makes for ``path``."""
    names = "|".join(re.escape(temp_prefix(path, tag)) + _RANDOM + re.escape(temp_suffix(path, tag))
                     for tag in TAGS)
    return re.compile(f"(?:{names})")


def remove_leftovers(path: Path) -> list[Path]:
    """Delete what killed caprec runs left beside ``path``; return what was removed.

    Only a regular file with caprec's naming pattern for ``path``, owned by
    this user, whose lock can be taken (its owner is dead) is removed.
    """
    pattern = leftover_pattern(path)
    directory = path.absolute().parent
    removed: list[Path] = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in entries:
        if not pattern.fullmatch(entry.name):
            continue
        candidate = directory / entry.name
        with contextlib.suppress(OSError):
            fd = os.open(candidate, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
            try:
                info = os.fstat(fd)
                mine = stat.S_ISREG(info.st_mode) and (not hasattr(os, "geteuid") or info.st_uid == os.geteuid())
                if mine and try_lock(fd):
                    candidate.unlink()
                    removed.append(candidate)
            finally:
                os.close(fd)
    return removed
