"""The scripted fake ffmpeg (``fake_ffmpeg.py``) as caprec's processes: argv, pipes, a Recorder that runs it."""

from __future__ import annotations

import sys
from pathlib import Path

from caprec.capture.ffmpeg.binary import FFmpegBinary
from caprec.capture.ffmpeg.process import ManagedProcess
from caprec.capture.record.segment import Recorder

from support.fake_ffmpeg import FAKE_FFMPEG

FAKE_BINARY = FFmpegBinary(path="/fake/ffmpeg", version="5.1-fake", origin="test", encoders=frozenset({"libx264"}))
# The recorder's stop escalation against the fake: long enough for a loaded machine, short for a test.
FAKE_STOP_TIMEOUT_S = 2.0


def fake_argv(mode: str, log: Path | None = None, *extra: str) -> list[str]:
    """The fake in ``mode``, logging the events it sees to ``log``, with ``extra`` arguments."""
    argv = [sys.executable, str(FAKE_FFMPEG), "--mode", mode]
    if log is not None:
        argv += ["--log", str(log)]
    return [*argv, *extra]


def close_pipes(proc: ManagedProcess) -> None:
    """Close the pipes the test's side holds to ``proc``."""
    for stream in (proc.proc.stdin, proc.proc.stdout, proc.proc.stderr):
        if stream is not None and not stream.closed:
            stream.close()


def recorder_with(mode: str, started: list[ManagedProcess], *extra: str, **kwargs: float) -> Recorder:
    """A Recorder for :data:`FAKE_BINARY` whose ffmpeg is the fake in ``mode``; each process lands in ``started``."""
    def factory(argv: list[str]) -> ManagedProcess:
        assert argv[0] == FAKE_BINARY.path  # the recorder built the real command for this binary
        proc = ManagedProcess(fake_argv(mode, None, *extra), stop_key_timeout=FAKE_STOP_TIMEOUT_S,
                              terminate_timeout=FAKE_STOP_TIMEOUT_S)
        started.append(proc)
        return proc

    return Recorder(FAKE_BINARY, process_factory=factory, **kwargs)
