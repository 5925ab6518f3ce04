"""caprec as installed on PATH, for the real-machine suite (``tests/platform``; macOS and Windows runners, see
.github/workflows/platforms.yml).

Those tests drive the ``caprec`` that ``pip install -e '.[test]'`` put on PATH, with the
real desktop, the real ffmpeg and ffprobe, and pynput's own Controller to
move the pointer. Everywhere else they are skipped (marker ``platform``).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CAPREC_TIMEOUT_S = 120.0


def caprec_argv() -> list[str]:
    """The installed ``caprec`` (what the README tells users to install); a missing one fails the suite."""
    found = shutil.which("caprec")
    if found is None:
        pytest.fail("caprec is not on PATH: install this checkout as the README says (pip install -e '.[test]')")
    return [found]


def platform_env(config: Path) -> dict[str, str]:
    """This environment without CAPREC_* variables, with ``config`` as the (empty) config directory."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("CAPREC_")}
    env["XDG_CONFIG_HOME"] = str(config)
    env["APPDATA"] = str(config)  # Windows' config directory
    env["NO_COLOR"] = "1"
    return env


def run_caprec(*args: str, cwd: Path, timeout: float = CAPREC_TIMEOUT_S) -> subprocess.CompletedProcess[str]:
    """Run the installed caprec in ``cwd`` to completion, text output."""
    return subprocess.run([*caprec_argv(), *args], cwd=cwd, env=platform_env(cwd), capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=timeout, check=False)


@contextlib.contextmanager
def spawned_caprec(*args: str, cwd: Path) -> Iterator[subprocess.Popen[bytes]]:
    """The installed caprec running in ``cwd``, in its own process group (Windows: Ctrl-Break reaches only it).

    Killed and reaped on the way out if the test left it running.
    """
    flags = subprocess.CREATE_NEW_PROCESS_GROUP if sys.platform == "win32" else 0
    proc = subprocess.Popen([*caprec_argv(), *args], cwd=cwd, env=platform_env(cwd), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, creationflags=flags)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def read_json(path: Path) -> dict[str, Any] | None:
    """A JSON file caprec replaces atomically, or None while it is not there yet."""
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data
