"""Plain helpers shared by caprec's tests: polling, ffprobe, MP4 boxes, /proc.

Fixtures live in ``conftest.py``; these are ordinary functions so that test
modules can import them (``from helpers import wait_until``).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from capture.files.mp4boxes import read_layout

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent
FAKE_FFMPEG = TESTS_DIR / "fake_ffmpeg.py"

POLL_INTERVAL_S = 0.01
FFPROBE_TIMEOUT_S = 60.0

T = TypeVar("T")


def wait_until(predicate: Callable[[], T], timeout: float, *, message: str = "",
               interval: float = POLL_INTERVAL_S) -> T:
    """Poll ``predicate`` until it returns something truthy; return that value.

    Raises ``AssertionError`` (with ``message``) when ``timeout`` seconds pass
    first. The predicate is always tried once more at the deadline.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {message or predicate!r}")
        time.sleep(interval)


@dataclass(frozen=True)
class Probe:
    """What ffprobe reads back from a video: counted frames, duration, codec and size."""

    frames: int
    duration: float | None
    codec: str | None
    width: int | None
    height: int | None


def _probe_from_json(text: str) -> Probe:
    data = json.loads(text)
    streams = [s for s in data.get("streams", []) if s.get("codec_type") == "video"]
    if not streams:
        return Probe(frames=0, duration=None, codec=None, width=None, height=None)
    stream = streams[0]
    duration = data.get("format", {}).get("duration")
    frames = stream.get("nb_read_frames")
    return Probe(
        frames=int(frames) if frames not in (None, "N/A") else 0,
        duration=float(duration) if duration not in (None, "N/A") else None,
        codec=stream.get("codec_name"),
        width=stream.get("width"),
        height=stream.get("height"),
    )


FFPROBE_ARGS = ["-v", "error", "-count_frames", "-select_streams", "v:0",
                "-show_entries", "stream=codec_type,codec_name,width,height,nb_read_frames:format=duration",
                "-of", "json"]


def ffprobe(path: Path | str) -> Probe:
    """Decode every frame of ``path`` with the real ffprobe and report what it found."""
    result = subprocess.run(["ffprobe", *FFPROBE_ARGS, "-i", str(path)], capture_output=True, text=True,
                            timeout=FFPROBE_TIMEOUT_S, check=False)
    assert result.returncode == 0, f"ffprobe {path} failed: {result.stderr.strip()}"
    return _probe_from_json(result.stdout)


def ffprobe_bytes(data: bytes) -> Probe:
    """Like :func:`ffprobe`, reading the video from ffprobe's stdin (``pipe:0``)."""
    result = subprocess.run(["ffprobe", *FFPROBE_ARGS, "-i", "pipe:0"], input=data, capture_output=True,
                            timeout=FFPROBE_TIMEOUT_S, check=False)
    assert result.returncode == 0, f"ffprobe pipe:0 failed: {result.stderr.decode(errors='replace').strip()}"
    return _probe_from_json(result.stdout.decode())


def mp4_top_level_boxes(path: Path) -> list[str]:
    """The types of the top-level ISO-BMFF boxes of ``path``, in file order (the engine's reader,
    :func:`capture.files.mp4boxes.read_layout`); fails on a box that overruns the file."""
    layout = read_layout(path)
    assert not layout.torn, f"the last box of {path} overruns the file: {layout.boxes}"
    return list(layout.boxes)


def complete_fragments(path: Path) -> int:
    """How many whole ``moof`` + ``mdat`` pairs a growing fragmented MP4 holds so far.

    Unlike :func:`mp4_top_level_boxes` this tolerates a last box that is
    still being written.
    """
    try:
        return read_layout(path).fragments
    except FileNotFoundError:
        return 0


def proc_state(pid: int) -> str | None:
    """The state letter of ``pid`` from /proc (``R``, ``S``, ``Z``...), None if it does not exist."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name is in parentheses and may hold spaces: split after it.
    return stat.rsplit(")", 1)[1].split()[0]


def process_gone(pid: int) -> bool:
    """True when ``pid`` no longer runs: it does not exist, or it is a zombie awaiting its reaper."""
    return proc_state(pid) in (None, "Z", "X")


def children_of(pid: int) -> list[int]:
    """Direct children of ``pid`` (Linux: /proc/<pid>/task/*/children)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(part) for part in (task / "children").read_text().split()]
        except FileNotFoundError:
            continue
    return found


def signal_pending(pid: int, signum: int) -> bool:
    """True while ``signum`` sent to ``pid`` has not been delivered yet (SigPnd/ShdPnd)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    bit = 1 << (signum - 1)
    for line in status.splitlines():
        key, _, value = line.partition(":")
        if key in ("SigPnd", "ShdPnd") and int(value.strip(), 16) & bit:
            return True
    return False


def file_size(path: Path) -> int:
    """Size of ``path`` in bytes, 0 while it does not exist."""
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def reaped(pid: int) -> bool:
    """True if ``pid`` is not an unreaped child of this process any more."""
    try:
        os.waitpid(pid, os.WNOHANG)  # running, or a zombie nobody reaped: not reaped
    except ChildProcessError:
        return True
    return False


def kill_if_running(proc: subprocess.Popen[bytes] | subprocess.Popen[str]) -> None:
    """Teardown guard: SIGKILL and reap a test's child if a failed test left it running."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
        proc.wait()


def spawn_in_pty(argv: list[str], *, cwd: Path | str, env: dict[str, str], timeout: float,
                 columns: int = 100, rows: int = 24) -> Any:
    """Run ``argv`` on a real pseudo-terminal, the way a user runs it, reading text.

    Undecodable bytes become U+FFFD instead of an error: a Ctrl-C makes the
    kernel flush the terminal's unread output queue (ISIG without NOFLSH),
    which can cut a UTF-8 character in half. A real terminal shows the same
    stray byte; it is not caprec's output, and must not fail the test.
    """
    import pexpect

    return pexpect.spawn(argv[0], argv[1:], cwd=str(cwd), env=env, dimensions=(rows, columns),
                         encoding="utf-8", codec_errors="replace", timeout=timeout)


def python_argv(*args: str) -> list[str]:
    """``python -m cli ...`` with the interpreter running the tests."""
    return [sys.executable, "-m", "cli", *args]


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


def pid_alive(pid: int) -> bool:
    """True if a process with ``pid`` exists (POSIX), a zombie included."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def terminate_and_reap(proc: subprocess.Popen[bytes], *, timeout: float = 10.0) -> None:
    """SIGTERM a server this test started, SIGKILL it if it lingers, and reap it."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
