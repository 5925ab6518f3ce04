"""Processes a test starts or watches: /proc state, children, pending signals, reaping, ``python -m cli``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path


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


def python_argv(*args: str) -> list[str]:
    """``python -m cli ...`` with the interpreter running the tests."""
    return [sys.executable, "-m", "cli", *args]


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
