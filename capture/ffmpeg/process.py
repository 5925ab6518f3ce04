"""The one place that starts, watches and stops processes.

FFmpeg runs in its own process group so that a Ctrl-C in the terminal reaches
caprec only; caprec then stops FFmpeg in order: ``q`` on its stdin (FFmpeg
finishes the file), a bounded wait, terminate, a bounded wait, kill. The
process is always reaped.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO, Any

# After "q", FFmpeg drains its encoder and writes the last fragment; x264 at
# our presets needs well under a second, a slow disk a little more.
STOP_KEY_TIMEOUT = 8.0
# After terminate (SIGTERM on POSIX, Ctrl-Break on Windows) FFmpeg still
# finishes the file; only a wedged process needs the kill that follows.
TERMINATE_TIMEOUT = 3.0
KILL_TIMEOUT = 5.0
# For short helper runs: `ffmpeg -version`, remux, verification.
TOOL_TIMEOUT = 30.0
# How often the wait after "q" checks whether the caller wants to hurry (a
# second Ctrl-C): the bound on how late that request takes effect.
HURRY_POLL_S = 0.1
# linux/prctl.h: deliver a signal to this process when its parent dies.
PR_SET_PDEATHSIG = 1

Popen = Callable[..., "subprocess.Popen[bytes]"]


@dataclass(frozen=True)
class StopOutcome:
    """How a process ended: ``exited`` on its own, or stopped by ``q``, ``terminate`` or ``kill``."""

    how: str
    returncode: int


@dataclass(frozen=True)
class ToolResult:
    """The result of a short run of a helper command."""

    returncode: int
    stdout: bytes
    stderr: bytes


def run_tool(argv: Sequence[str], *, timeout: float = TOOL_TIMEOUT, pass_fds: Sequence[int] = ()) -> ToolResult:
    """Run a short helper command (argv list, never a shell) and capture its output.

    ``pass_fds`` are descriptors the command inherits under the same numbers.
    On Linux the command dies with caprec (a killed caprec leaves no FFmpeg
    finishing a copy nobody will rename). It runs in its own process group
    like FFmpeg itself: a Ctrl-C in the terminal reaches the whole foreground
    group, and a second one must not kill a read-back or rewrite that caprec
    is waiting on. Raises ``OSError`` if it cannot start and
    ``subprocess.TimeoutExpired`` if it outlives ``timeout`` (it is killed and
    reaped first).
    """
    completed = subprocess.run(
        list(argv), stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout, check=False,
        pass_fds=tuple(pass_fds), preexec_fn=_die_with_parent_hook(), **_group_kwargs(),
    )
    return ToolResult(completed.returncode, completed.stdout, completed.stderr)


def _die_with_parent_hook() -> Callable[[], None] | None:
    """A preexec hook that makes the child get SIGKILL when caprec dies (Linux prctl), else None.

    libc is loaded here, in the parent: the hook runs between fork and exec,
    where importing a module could deadlock.
    """
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    prctl = ctypes.CDLL(None, use_errno=True).prctl
    kill = int(signal.SIGKILL)

    def hook() -> None:
        prctl(PR_SET_PDEATHSIG, kill)

    return hook


def _group_kwargs() -> dict[str, Any]:
    """Start the child in its own process group: terminal signals go to caprec alone."""
    if sys.platform == "win32":
        return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
    return {"start_new_session": True}


class ManagedProcess:
    """A child process with piped stdin, stdout and stderr that this object owns.

    ``stop()`` escalates ``q`` -> terminate -> kill with bounded waits and
    always reaps. The timeouts are arguments so that tests can shorten them.
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        popen: Popen = subprocess.Popen,
        stop_key_timeout: float = STOP_KEY_TIMEOUT,
        terminate_timeout: float = TERMINATE_TIMEOUT,
        kill_timeout: float = KILL_TIMEOUT,
    ) -> None:
        self.argv = list(argv)
        self._popen = popen
        self._stop_key_timeout = stop_key_timeout
        self._terminate_timeout = terminate_timeout
        self._kill_timeout = kill_timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self._outcome: StopOutcome | None = None

    def start(self) -> None:
        """Start the process. Raises ``OSError`` when the binary cannot be run."""
        self._proc = self._popen(
            self.argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            bufsize=0,
            **_group_kwargs(),
        )

    @property
    def proc(self) -> subprocess.Popen[bytes]:
        if self._proc is None:
            raise RuntimeError("process not started")
        return self._proc

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def stdout(self) -> IO[bytes]:
        assert self.proc.stdout is not None
        return self.proc.stdout

    @property
    def stderr(self) -> IO[bytes]:
        assert self.proc.stderr is not None
        return self.proc.stderr

    def poll(self) -> int | None:
        """The exit code, or None while it runs."""
        return self.proc.poll()

    def send_key(self, key: bytes) -> bool:
        """Write ``key`` to the child's stdin; False if it is gone already."""
        stdin = self.proc.stdin
        if stdin is None or stdin.closed:
            return False
        try:
            stdin.write(key)
            stdin.flush()
        except (BrokenPipeError, ValueError, OSError):
            return False
        return True

    def _wait(self, timeout: float) -> int | None:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def _terminate(self) -> None:
        try:
            if sys.platform == "win32":
                # TerminateProcess would be a hard kill; Ctrl-Break reaches
                # FFmpeg as SIGINT, so it still finishes the file.
                self.proc.send_signal(signal.CTRL_BREAK_EVENT)
            else:
                self.proc.send_signal(signal.SIGTERM)
        except (ProcessLookupError, OSError):
            pass

    def _wait_unless(self, timeout: float, hurry: Callable[[], bool] | None) -> int | None:
        """Wait up to ``timeout`` seconds, ending early once ``hurry()`` turns true."""
        if hurry is None:
            return self._wait(timeout)
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            code = self._wait(min(HURRY_POLL_S, remaining))
            if code is not None or hurry():
                return code
        return self.poll()

    def stop(self, *, fast: bool = False, hurry: Callable[[], bool] | None = None) -> StopOutcome:
        """Stop the process and reap it; idempotent.

        ``fast`` skips the ``q`` step (a second Ctrl-C): terminate still lets
        FFmpeg write its last fragment. ``hurry`` is polled while waiting
        after ``q``: once it returns True (a second Ctrl-C arrived during
        that wait) the wait ends and terminate follows at once.
        """
        if self._outcome is not None:
            return self._outcome
        code = self.poll()
        how = "exited"
        if code is None and not fast and self.send_key(b"q"):
            how, code = "q", self._wait_unless(self._stop_key_timeout, hurry)
        if code is None:
            self._terminate()
            how, code = "terminate", self._wait(self._terminate_timeout)
        return self._kill_and_reap(how, code)

    def abandon(self) -> StopOutcome:
        """Kill the process at once and reap it, when what it writes is being thrown away; idempotent.

        A render that is interrupted or has failed deletes its output: letting
        FFmpeg finish it (``stop``: terminate, then up to
        :data:`TERMINATE_TIMEOUT` s while a slow encoder drains its lookahead)
        only kept the user waiting. A process that has already exited is just
        reaped.
        """
        if self._outcome is not None:
            return self._outcome
        return self._kill_and_reap("exited", self.poll())

    def _kill_and_reap(self, how: str, code: int | None) -> StopOutcome:
        """Kill the process if it still runs (``code`` None), reap it and keep the outcome."""
        if code is None:
            self.proc.kill()
            how, code = "kill", self._wait(self._kill_timeout)
        if code is None:  # pragma: no cover - a process that survives SIGKILL
            code = self.proc.wait()
        self._close_stdin()
        self._outcome = StopOutcome(how=how, returncode=code)
        return self._outcome

    def _close_stdin(self) -> None:
        stdin = self.proc.stdin
        if stdin is not None and not stdin.closed:
            with contextlib.suppress(OSError):
                stdin.close()

    def wait(self, timeout: float) -> int | None:
        """Wait up to ``timeout`` seconds for the process to exit on its own."""
        return self._wait(timeout)
