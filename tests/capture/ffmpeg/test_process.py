"""ManagedProcess's stop escalation (q -> terminate -> kill), with a scripted fake ffmpeg.

Nothing real can refuse ``q`` or SIGTERM on demand, so these tests run
``tests/support/fake_ffmpeg.py``; the Recorder tests at the end use it the same way
for start-up failures and write errors.
"""

from __future__ import annotations

import os
import select
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from caprec.capture.errors import DisplayError, NoFirstFrameError, WriteError
from caprec.capture.ffmpeg.argv import Backend, Encoding, VideoSource
from caprec.capture.ffmpeg.process import ManagedProcess, StopOutcome
from caprec.capture.record.segment import Status, StopControl, Target
from support.fake_recorder import close_pipes, fake_argv, recorder_with
from support.process import pid_alive, reaped

READY_TIMEOUT_S = 10.0
# Short escalation deadlines: the slow path of each test stays well under a second.
SHORT_Q_S = 0.3
SHORT_TERM_S = 0.3
# Generous bounds for "it did not wait for a deadline it should have skipped".
FAST_ENOUGH_S = 3.0


def events(log: Path) -> list[str]:
    return log.read_text().split() if log.exists() else []


def wait_ready(proc: ManagedProcess) -> None:
    """Block until the fake says ``ready`` on stderr (its signal handlers are in place)."""
    fd = proc.stderr.fileno()
    deadline = time.monotonic() + READY_TIMEOUT_S
    data = b""
    while b"ready\n" not in data:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"fake ffmpeg never became ready; stderr so far: {data!r}"
        if select.select([fd], [], [], remaining)[0]:
            chunk = os.read(fd, 4096)
            assert chunk, f"fake ffmpeg exited before it was ready; stderr: {data!r}"
            data += chunk


@pytest.fixture
def managed() -> Iterator[Callable[..., ManagedProcess]]:
    """Start fake ffmpegs as ManagedProcess; every one is killed and reaped at teardown."""
    made: list[ManagedProcess] = []

    def make(argv: list[str], **timeouts: float) -> ManagedProcess:
        proc = ManagedProcess(argv, **timeouts)
        proc.start()
        made.append(proc)
        return proc

    yield make
    for proc in made:
        if proc.poll() is None:
            proc.proc.kill()
            proc.proc.wait()
        close_pipes(proc)


def assert_reaped(proc: ManagedProcess, outcome: StopOutcome) -> None:
    assert proc.proc.returncode == outcome.returncode
    assert reaped(proc.pid), "stop() returned without reaping the child"
    assert not pid_alive(proc.pid)


def test_q_stops_a_process_that_obeys_it(managed: Callable[..., ManagedProcess], tmp_path: Path) -> None:
    log = tmp_path / "events"
    proc = managed(fake_argv("obey-q", log), stop_key_timeout=5.0, terminate_timeout=5.0)
    wait_ready(proc)
    started = time.monotonic()
    outcome = proc.stop()
    assert outcome == StopOutcome(how="q", returncode=0)
    assert time.monotonic() - started < FAST_ENOUGH_S
    assert events(log) == ["q"]
    assert_reaped(proc, outcome)


def test_terminate_follows_when_q_is_ignored(managed: Callable[..., ManagedProcess], tmp_path: Path) -> None:
    log = tmp_path / "events"
    proc = managed(fake_argv("ignore-q", log), stop_key_timeout=SHORT_Q_S, terminate_timeout=5.0)
    wait_ready(proc)
    started = time.monotonic()
    outcome = proc.stop()
    elapsed = time.monotonic() - started
    assert outcome == StopOutcome(how="terminate", returncode=255)
    assert events(log) == ["q", "term"]
    assert SHORT_Q_S <= elapsed < SHORT_Q_S + FAST_ENOUGH_S
    assert_reaped(proc, outcome)


def test_kill_ends_a_process_that_ignores_q_and_sigterm(managed: Callable[..., ManagedProcess],
                                                        tmp_path: Path) -> None:
    log = tmp_path / "events"
    proc = managed(fake_argv("ignore-all", log), stop_key_timeout=SHORT_Q_S, terminate_timeout=SHORT_TERM_S,
                   kill_timeout=5.0)
    wait_ready(proc)
    started = time.monotonic()
    outcome = proc.stop()
    elapsed = time.monotonic() - started
    assert outcome == StopOutcome(how="kill", returncode=-signal.SIGKILL)
    # Both gentler steps reached it and were ignored before the kill.
    assert events(log) == ["q", "term"]
    assert SHORT_Q_S + SHORT_TERM_S <= elapsed < SHORT_Q_S + SHORT_TERM_S + FAST_ENOUGH_S
    assert_reaped(proc, outcome)


def test_abandon_kills_at_once_without_asking_and_is_idempotent(managed: Callable[..., ManagedProcess],
                                                                tmp_path: Path) -> None:
    """A render thrown away (Ctrl-C, a failure) waited 3 s per FFmpeg for SIGTERM to finish a file it then deleted."""
    log = tmp_path / "events"
    proc = managed(fake_argv("obey-q", log), stop_key_timeout=5.0, terminate_timeout=5.0, kill_timeout=5.0)
    wait_ready(proc)
    started = time.monotonic()
    outcome = proc.abandon()
    assert outcome == StopOutcome(how="kill", returncode=-signal.SIGKILL)
    assert time.monotonic() - started < FAST_ENOUGH_S
    assert events(log) == []  # neither q nor SIGTERM: nothing is asked to finish
    assert_reaped(proc, outcome)
    assert proc.abandon() == outcome and proc.stop() == outcome


def test_abandon_of_a_process_that_exited_only_reaps_it(managed: Callable[..., ManagedProcess],
                                                         tmp_path: Path) -> None:
    proc = managed(fake_argv("error", tmp_path / "events"))
    assert proc.wait(READY_TIMEOUT_S) == 1
    outcome = proc.abandon()
    assert outcome == StopOutcome(how="exited", returncode=1)
    assert_reaped(proc, outcome)


def test_a_process_that_already_exited_is_reaped_without_signals(managed: Callable[..., ManagedProcess],
                                                                  tmp_path: Path) -> None:
    log = tmp_path / "events"
    proc = managed(fake_argv("error", log))
    assert proc.wait(READY_TIMEOUT_S) == 1
    assert proc.stderr.read().startswith(b"[x11grab @ 0x55] [error] Cannot open display :99")
    outcome = proc.stop()
    assert outcome == StopOutcome(how="exited", returncode=1)
    assert events(log) == []
    assert_reaped(proc, outcome)


def test_send_key_reports_a_gone_process(managed: Callable[..., ManagedProcess]) -> None:
    proc = managed(fake_argv("error"))
    assert proc.wait(READY_TIMEOUT_S) == 1
    assert proc.send_key(b"q") is False  # EPIPE: nobody reads stdin any more
    proc.stop()
    assert proc.send_key(b"q") is False  # stdin closed by stop()


def test_fast_skips_q(managed: Callable[..., ManagedProcess], tmp_path: Path) -> None:
    log = tmp_path / "events"
    # A long q deadline: if fast still sent q and waited, the test would see "q" or time out.
    proc = managed(fake_argv("obey-q", log), stop_key_timeout=30.0, terminate_timeout=5.0)
    wait_ready(proc)
    started = time.monotonic()
    outcome = proc.stop(fast=True)
    assert outcome == StopOutcome(how="terminate", returncode=255)
    assert events(log) == ["term"]
    assert time.monotonic() - started < FAST_ENOUGH_S
    assert_reaped(proc, outcome)


def test_stop_is_idempotent(managed: Callable[..., ManagedProcess], tmp_path: Path) -> None:
    log = tmp_path / "events"
    proc = managed(fake_argv("ignore-q", log), stop_key_timeout=SHORT_Q_S, terminate_timeout=5.0)
    wait_ready(proc)
    first = proc.stop()
    started = time.monotonic()
    second = proc.stop()
    third = proc.stop(fast=True)
    assert first == StopOutcome(how="terminate", returncode=255)
    assert second is first and third is first
    assert time.monotonic() - started < SHORT_Q_S  # no second escalation
    assert events(log) == ["q", "term"]
    assert_reaped(proc, first)


def test_hurry_cuts_the_wait_after_q_short(managed: Callable[..., ManagedProcess], tmp_path: Path) -> None:
    """A second Ctrl-C during the wait after q (hurry turns true) terminates at once."""
    log = tmp_path / "events"
    proc = managed(fake_argv("ignore-q", log), stop_key_timeout=30.0, terminate_timeout=5.0)
    wait_ready(proc)
    started = time.monotonic()
    # True once the fake has seen q: the hurry request arrives during the wait.
    outcome = proc.stop(hurry=lambda: "q" in events(log))
    assert outcome == StopOutcome(how="terminate", returncode=255)
    assert events(log) == ["q", "term"]
    assert time.monotonic() - started < FAST_ENOUGH_S
    assert_reaped(proc, outcome)


def test_hurry_that_stays_false_keeps_the_q_stop(managed: Callable[..., ManagedProcess], tmp_path: Path) -> None:
    log = tmp_path / "events"
    proc = managed(fake_argv("obey-q", log), stop_key_timeout=5.0, terminate_timeout=5.0)
    wait_ready(proc)
    outcome = proc.stop(hurry=lambda: False)
    assert outcome == StopOutcome(how="q", returncode=0)
    assert events(log) == ["q"]


def test_start_of_a_missing_binary_raises_oserror(tmp_path: Path) -> None:
    proc = ManagedProcess([str(tmp_path / "no-such-ffmpeg")])
    with pytest.raises(FileNotFoundError):
        proc.start()
    with pytest.raises(RuntimeError, match="not started"):
        _ = proc.pid


def test_child_runs_in_its_own_session(managed: Callable[..., ManagedProcess]) -> None:
    """A terminal's Ctrl-C reaches caprec only; caprec then stops ffmpeg in order."""
    proc = managed(fake_argv("obey-q"))
    wait_ready(proc)
    assert os.getsid(proc.pid) == proc.pid != os.getsid(0)
    assert os.getpgid(proc.pid) != os.getpgid(0)


# --- The Recorder supervising a scripted ffmpeg -------------------------------------------

SOURCE = VideoSource(backend=Backend.X11GRAB, device=":99.0")


def test_recorder_turns_an_early_display_error_into_display_error(tmp_path: Path) -> None:
    started: list[ManagedProcess] = []
    out = tmp_path / "out.mp4"
    with pytest.raises(DisplayError, match=r"cannot open the X display \(:99\.0: Input/output error\)"):
        recorder_with("error", started).record(SOURCE, Encoding(duration=2.0), Target(path=out))
    assert not out.exists()
    assert len(started) == 1 and reaped(started[0].pid)
    close_pipes(started[0])


def test_recorder_gives_up_without_a_first_frame(tmp_path: Path) -> None:
    started: list[ManagedProcess] = []
    out = tmp_path / "out.mp4"
    begun = time.monotonic()
    with pytest.raises(NoFirstFrameError, match=r"no frame within 0.5 s"):
        recorder_with("obey-q", started, first_frame_timeout=0.5).record(SOURCE, Encoding(), Target(path=out))
    assert time.monotonic() - begun < 0.5 + FAST_ENOUGH_S
    assert not out.exists()
    assert len(started) == 1 and reaped(started[0].pid)
    close_pipes(started[0])


def test_recorder_write_error_stops_ffmpeg_and_is_reported(tmp_path: Path) -> None:
    """The destination breaks mid-way: WriteError, ffmpeg stopped, the pump kept draining."""
    # A descriptor open for reading only: every write fails (EBADF). A pipe whose reader
    # has gone (EPIPE) is not a failure: see the next test.
    write_end = os.open(tmp_path / "read-only", os.O_RDONLY | os.O_CREAT, 0o600)
    started: list[ManagedProcess] = []
    stop = StopControl()
    try:
        result = recorder_with("stream", started, "--chunk", "65536").record(
            SOURCE, Encoding(), Target(fd=write_end), stop=stop)
    finally:
        os.close(write_end)
    assert isinstance(result.error, WriteError)
    assert result.status is Status.FAILED
    assert result.stop_reason == "error"
    assert result.stats.bytes == 0
    assert result.path is None
    # The write error ended the watch loop and ffmpeg was terminated (fast: no q).
    assert result.ffmpeg_returncode == 255
    assert len(started) == 1 and reaped(started[0].pid)
    close_pipes(started[0])


def test_a_reader_that_closed_the_pipe_ends_the_recording_quietly(tmp_path: Path) -> None:
    """``-o - | head -c N``: the reader went away (EPIPE); the recording ends, no error."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    started: list[ManagedProcess] = []
    try:
        result = recorder_with("stream", started, "--chunk", "65536").record(
            SOURCE, Encoding(), Target(fd=write_end), stop=StopControl())
    finally:
        os.close(write_end)
    assert result.error is None
    assert result.stop_reason == "reader-closed"
    assert any("closed" in note for note in result.notes)
    assert len(started) == 1 and reaped(started[0].pid)
    close_pipes(started[0])
