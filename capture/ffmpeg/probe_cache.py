"""What an ffmpeg binary told us once, kept for the next run: version, encoders, presets.

Each start of Debian's FFmpeg costs ~70 ms of library loading before it
answers, and every recording asked the same questions. The answers depend
only on the binary, so they are cached under a key of its real path, size
and modification time: a new or replaced binary is a new key.

The cache is a convenience, never a risk: it lives in the user's cache
directory (platformdirs), which must be a real directory owned by the user
and not writable by others; entries are read without following symlinks
and written to an exclusively created temporary file renamed into place
(a rename replaces a planted symlink, it never writes through it). Any
problem means "not cached": the caller asks FFmpeg again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

APP_NAME = "caprec"
CACHE_FORMAT = 1
# An entry is a few KB; anything larger is not ours.
MAX_ENTRY_BYTES = 256 * 1024
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def default_cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The user's cache directory for caprec (``$XDG_CACHE_HOME/caprec`` on Linux)."""
    if environ is not None and environ.get("XDG_CACHE_HOME"):
        return Path(environ["XDG_CACHE_HOME"]) / APP_NAME
    from platformdirs import user_cache_dir

    return Path(user_cache_dir(APP_NAME, appauthor=False))


def binary_key(path: str) -> str | None:
    """The cache key of the binary at ``path``: its real path, size and mtime; None if it cannot be read."""
    real = os.path.realpath(path)
    try:
        info = os.stat(real)
    except OSError:
        return None
    return hashlib.sha256(f"{CACHE_FORMAT}\0{real}\0{info.st_size}\0{info.st_mtime_ns}".encode()).hexdigest()[:32]


class ProbeCache:
    """A directory of small JSON entries, one per ffmpeg binary."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory

    def _usable_directory(self, *, create: bool) -> Path | None:
        directory = self.directory
        if directory is None:
            return None
        if create:
            try:
                directory.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
            except OSError:
                return None
        try:
            info = os.lstat(directory)
        except OSError:
            return None
        owner_ok = not hasattr(os, "getuid") or info.st_uid == os.getuid()
        if not stat.S_ISDIR(info.st_mode) or not owner_ok or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            return None  # a symlink, someone else's, or shared: do not use it
        return directory

    def get(self, key: str) -> dict[str, Any] | None:
        """The entry for ``key``, or None (missing, unreadable, not ours)."""
        directory = self._usable_directory(create=False)
        if directory is None:
            return None
        try:
            fd = os.open(directory / f"{key}.json", os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            return None
        try:
            with os.fdopen(fd, "rb") as handle:
                data = handle.read(MAX_ENTRY_BYTES + 1)
        except OSError:
            return None
        if len(data) > MAX_ENTRY_BYTES:
            return None
        try:
            entry = json.loads(data)
        except ValueError:
            return None
        if not isinstance(entry, dict) or entry.get("format") != CACHE_FORMAT:
            return None
        value = entry.get("value")
        return value if isinstance(value, dict) else None

    def put(self, key: str, value: dict[str, Any]) -> None:
        """Store ``value`` under ``key``; silently does nothing when it cannot."""
        directory = self._usable_directory(create=True)
        if directory is None:
            return
        data = json.dumps({"format": CACHE_FORMAT, "value": value}, sort_keys=True).encode()
        temp = directory / f".{key}.{uuid.uuid4().hex[:12]}.tmp"
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0),
                         PRIVATE_FILE_MODE)
        except OSError:
            return
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(temp, directory / f"{key}.json")
        except OSError:
            with contextlib.suppress(OSError):
                temp.unlink()

    def update(self, key: str, **fields: Any) -> None:
        """Merge ``fields`` into the entry for ``key``."""
        entry = self.get(key) or {}
        entry.update(fields)
        self.put(key, entry)
