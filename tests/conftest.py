"""Fixtures for caprec's tests: a real Xvfb display, caprec as a subprocess, ffprobe.

Tests use real parts: the system ffmpeg/ffprobe, an Xvfb server started here
and xdotool. When Xvfb or xdotool is missing the X tests skip with the reason,
except under CI (the ``CI`` variable set), where a missing tool fails them.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from helpers import REPO_ROOT, Probe, ffprobe, kill_if_running, python_argv, wait_until

XVFB_SCREEN = "1280x720x24"
XVFB_WIDTH, XVFB_HEIGHT = 1280, 720
XVFB_START_TIMEOUT_S = 15.0
XVFB_STOP_TIMEOUT_S = 5.0
XDOTOOL_TIMEOUT_S = 5.0
CAPREC_TIMEOUT_S = 60.0
# Variables that would change what caprec does; every run starts without them.
SCRUBBED_VARS = ("DISPLAY", "WAYLAND_DISPLAY", "XDG_SESSION_TYPE", "CAPREC_FFMPEG", "COLUMNS", "LINES",
                 "FORCE_COLOR", "TERM", "XDG_CONFIG_HOME")
CAPREC_PREFIX = "CAPREC_"


def _missing_tool(reason: str) -> None:
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


def _read_display_number(fd: int, server: subprocess.Popen[bytes], timeout: float) -> str:
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


def _display_answers(env: Mapping[str, str]) -> bool:
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
            _missing_tool(f"{tool} is not installed (apt-get install xvfb xdotool)")
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
            display = f":{_read_display_number(read_fd, server, XVFB_START_TIMEOUT_S)}"
            wait_until(lambda: _display_answers({**scrubbed_environ(), "DISPLAY": display}), XVFB_START_TIMEOUT_S,
                       message=f"Xvfb on {display} to accept connections")
        except (RuntimeError, AssertionError) as exc:
            pytest.fail(f"could not start Xvfb: {exc}; log: {log.read_text(errors='replace')[-2000:]}")
        finally:
            os.close(read_fd)
        yield server, display
    finally:
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=XVFB_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                server.kill()
        server.wait()


@pytest.fixture(scope="session")
def xvfb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[XServer]:
    """A private Xvfb at 1280x720x24 for the whole session."""
    log = tmp_path_factory.mktemp("xvfb") / "xvfb.log"
    with start_xvfb(XVFB_SCREEN, log=log) as (_, display):
        env = scrubbed_environ()
        env["DISPLAY"] = display
        yield XServer(display=display, width=XVFB_WIDTH, height=XVFB_HEIGHT, env=env)


def scrubbed_environ() -> dict[str, str]:
    """This process's environment without DISPLAY, any CAPREC_* variable, COLUMNS..."""
    return {key: value for key, value in os.environ.items()
            if key not in SCRUBBED_VARS and not key.startswith(CAPREC_PREFIX)}


@pytest.fixture
def caprec_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment caprec runs in: no display, no CAPREC_* variable, an empty config directory."""
    env = scrubbed_environ()
    env["XDG_CONFIG_HOME"] = str(tmp_path_factory.mktemp("xdg-config"))
    env["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))  # the ffmpeg probe cache
    env["NO_COLOR"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    return env


RunCaprec = Callable[..., "subprocess.CompletedProcess[str]"]
SpawnCaprec = Callable[..., "subprocess.Popen[bytes]"]


@pytest.fixture
def run_caprec(caprec_env: dict[str, str]) -> RunCaprec:
    """Run ``python -m cli ARGS`` to completion; text output, never a shell."""

    def run(args: Sequence[str], *, cwd: Path, env: Mapping[str, str] | None = None,
            timeout: float = CAPREC_TIMEOUT_S) -> subprocess.CompletedProcess[str]:
        return subprocess.run(python_argv(*args), cwd=cwd, env=dict(env if env is not None else caprec_env),
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout,
                              check=False)

    return run


@pytest.fixture
def spawn_caprec(caprec_env: dict[str, str]) -> Iterator[SpawnCaprec]:
    """Start ``python -m cli ARGS`` in the background; killed and reaped at teardown if still running."""
    started: list[subprocess.Popen[bytes]] = []

    def spawn(args: Sequence[str], *, cwd: Path, env: Mapping[str, str] | None = None,
              stdout: int | None = subprocess.DEVNULL, stderr: int | None = subprocess.PIPE) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(python_argv(*args), cwd=cwd, env=dict(env if env is not None else caprec_env),
                                stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr)
        started.append(proc)
        return proc

    yield spawn
    for proc in started:
        kill_if_running(proc)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def probe() -> Callable[[Path], Probe]:
    """ffprobe(path) -> Probe(frames, duration, codec, width, height), frames counted by decoding."""
    if shutil.which("ffprobe") is None:
        pytest.fail("ffprobe is not installed (apt-get install ffmpeg)")
    return ffprobe
