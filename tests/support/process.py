"""Processes a test starts or watches: state and children (psutil), pending signals, reaping, ``python -m caprec``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil


def proc_state(pid: int) -> str | None:
    """psutil's status of ``pid`` (``running``, ``sleeping``, ``zombie``...), None if it does not exist."""
    try:
        return str(psutil.Process(pid).status())
    except psutil.NoSuchProcess:
        return None


def process_gone(pid: int) -> bool:
    """True when ``pid`` no longer runs: it does not exist, or it is a zombie awaiting its reaper."""
    return proc_state(pid) in (None, psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD)


def children_of(pid: int) -> list[int]:
    """Direct children of ``pid`` (none once it is gone)."""
    try:
        return [child.pid for child in psutil.Process(pid).children()]
    except psutil.NoSuchProcess:
        return []


def command_line(pid: int) -> str:
    """``pid``'s arguments joined by spaces, empty once it is gone."""
    try:
        return " ".join(psutil.Process(pid).cmdline())
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return ""


def signal_pending(pid: int, signum: int) -> bool:
    """True while ``signum`` sent to ``pid`` has not been delivered yet (SigPnd/ShdPnd: psutil has no pending set)."""
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
    """``python -m caprec ...`` with the interpreter running the tests."""
    return [sys.executable, "-m", "caprec", *args]


def pid_alive(pid: int) -> bool:
    """True if a process with ``pid`` exists, a zombie included."""
    return psutil.pid_exists(pid)


def terminate_and_reap(proc: subprocess.Popen[bytes], *, timeout: float = 10.0) -> None:
    """SIGTERM a server this test started, SIGKILL it if it lingers, and reap it."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
