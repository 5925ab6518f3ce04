"""A private X server for a test: Xvfb on a display number it picks itself (``-displayfd``).

When Xvfb or xdotool is missing the X tests skip with the reason, except under CI (the ``CI`` variable
set), where a missing tool fails them.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from support.env import scrubbed_environ
from support.polling import wait_until
from support.process import terminate_and_reap

XVFB_SCREEN = "1280x720x24"
XVFB_WIDTH, XVFB_HEIGHT = 1280, 720
XVFB_START_TIMEOUT_S = 15.0
XVFB_STOP_TIMEOUT_S = 5.0
XDOTOOL_TIMEOUT_S = 5.0


def missing_tool(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set: the X tests must run, not skip)")
    pytest.skip(reason)


@dataclass(frozen=True)
class XServer:
    """A running Xvfb: its display (``:N``), screen size and an environment that points at it."""

    display: str
    width: int
    height: int
    env: dict[str, str] = field(default_factory=dict)


def read_display_number(fd: int, server: subprocess.Popen[bytes], timeout: float) -> str:
    """Read the display number Xvfb writes to ``-displayfd`` (digits and a newline)."""
    deadline = time.monotonic() + timeout
    data = b""
    while not data.endswith(b"\n"):
        remaining = deadline - time.monotonic()
        if remaining <= 0 or server.poll() is not None:
            raise RuntimeError(f"Xvfb did not report a display number (exit code {server.poll()})")
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            chunk = os.read(fd, 64)
            if not chunk:
                raise RuntimeError("Xvfb closed -displayfd without a display number")
            data += chunk
    return data.decode().strip()


def display_answers(env: Mapping[str, str]) -> bool:
    try:
        result = subprocess.run(["xdotool", "getmouselocation"], env=dict(env), capture_output=True,
                                timeout=XDOTOOL_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        return False
    return result.returncode == 0


@contextlib.contextmanager
def start_xvfb(*screens: str, log: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """Start an Xvfb with ``screens`` (e.g. ``"1280x720x24"``) on a display number it picks itself.

    Yields the server and its display (``:N``) once it accepts connections;
    kills and reaps it at the end (a test may have stopped it already).
    """
    for tool in ("Xvfb", "xdotool"):
        if shutil.which(tool) is None:
            missing_tool(f"{tool} is not installed (apt-get install xvfb xdotool)")
    screen_args = [arg for number, size in enumerate(screens) for arg in ("-screen", str(number), size)]
    read_fd, write_fd = os.pipe()
    with log.open("wb") as log_file:
        server = subprocess.Popen(
            # -br: a black root window, so tests can find the drawn pointer by its bright pixels.
            # -noreset: no server reset when the last client leaves, which drops clients connecting meanwhile.
            ["Xvfb", "-displayfd", str(write_fd), *screen_args, "-br", "-noreset", "-nolisten", "tcp"],
            pass_fds=(write_fd,), stdin=subprocess.DEVNULL, stdout=log_file, stderr=log_file,
            start_new_session=True,
        )
    os.close(write_fd)
    try:
        try:
            display = f":{read_display_number(read_fd, server, XVFB_START_TIMEOUT_S)}"
            wait_until(lambda: display_answers({**scrubbed_environ(), "DISPLAY": display}), XVFB_START_TIMEOUT_S,
                       message=f"Xvfb on {display} to accept connections")
        except (RuntimeError, AssertionError) as exc:
            pytest.fail(f"could not start Xvfb: {exc}; log: {log.read_text(errors='replace')[-2000:]}")
        finally:
            os.close(read_fd)
        yield server, display
    finally:
        terminate_and_reap(server, timeout=XVFB_STOP_TIMEOUT_S)  # a test may have stopped it already
