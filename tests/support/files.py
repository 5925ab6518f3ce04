"""Files and directories in tests: a growing file's size, a directory nobody can write."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


def file_size(path: Path) -> int:
    """Size of ``path`` in bytes, 0 while it does not exist."""
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


@contextlib.contextmanager
def read_only_directory(path: Path) -> Iterator[None]:
    """A directory that even root cannot write: a read-only tmpfs mounted on it."""
    path.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        # Without root the permission bits suffice.
        path.chmod(0o555)
        yield
        return
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(path)],
                             capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"root ignores permissions and a read-only mount is refused here: {mounted.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run(["umount", str(path)], capture_output=True, check=False)
