"""Every way a user stops a recording from a real terminal (a pty driven by pexpect).

The terminal's Ctrl-C reaches the whole foreground process group: caprec,
and any helper FFmpeg run (read-back, remux) it has started. Each path must
end with the documented exit code and message, a file that plays with the
frame count the summary printed, and the terminal as it was.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import termios
import time
from pathlib import Path
from typing import Any

import pytest
from support.files import file_size
from support.media import ffprobe
from support.polling import wait_until
from support.process import children_of, command_line, python_argv
from support.pty import spawn_in_pty

pexpect = pytest.importorskip("pexpect")

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")

PTY_TIMEOUT_S = 60.0
START_TIMEOUT_S = 30.0
# Enough recorded before the first Ctrl-C for several fragments.
RECORDED_BYTES = 60_000
SAVED_FRAMES = re.compile(r"frames (\d+)")
SHOW_CURSOR = "\x1b[?25h"
HIDE_CURSOR = "\x1b[?25l"


def _env(caprec_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    env = dict(caprec_env)  # scrubbed_environ: no CAPREC_* variable
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    env["TERM"] = "xterm-256color"
    return env


def _spawn(caprec_env: dict[str, str], tmp_path: Path, *args: str) -> Any:
    argv = python_argv("record", "--source", "test", *args)
    return spawn_in_pty(argv, cwd=tmp_path, env=_env(caprec_env, tmp_path), timeout=PTY_TIMEOUT_S)


def _finish(child: Any) -> tuple[int, str]:
    child.expect(pexpect.EOF)
    text = child.before
    # The terminal as caprec left it (cbreak mode while recording): line editing and echo back on.
    lflag = termios.tcgetattr(child.child_fd)[3]
    child.close()
    assert isinstance(text, str)
    assert lflag & termios.ECHO and lflag & termios.ICANON, "the terminal was left in cbreak mode"
    return child.exitstatus, text


def _assert_terminal_restored(child: Any, text: str) -> None:
    if HIDE_CURSOR in text:
        assert text.rfind(SHOW_CURSOR) > text.rfind(HIDE_CURSOR), "the cursor was left hidden"


def _assert_plays_with_printed_frames(path: Path, text: str) -> int:
    printed = SAVED_FRAMES.findall(text)
    assert printed, text
    probed = ffprobe(path)
    assert probed.frames > 0, text
    assert probed.frames == int(printed[-1]), (probed, text)
    return probed.frames


def _recording(path: Path) -> None:
    wait_until(lambda: file_size(path) >= RECORDED_BYTES, START_TIMEOUT_S, message=f"{path} to grow")


@pytest.mark.parametrize("gap", [None, 0.1, 0.3, 0.6, 1.0])
def test_ctrl_c_once_or_twice(caprec_env: dict[str, str], tmp_path: Path, gap: float | None) -> None:
    out = tmp_path / "out.mp4"
    child = _spawn(caprec_env, tmp_path, "-o", str(out))
    try:
        _recording(out)
        child.sendintr()
        if gap is not None:
            time.sleep(gap)
            child.sendintr()
        status, text = _finish(child)
    finally:
        child.close(force=True)
    assert "error" not in text.lower(), text
    assert "Traceback" not in text
    if gap is None:
        assert status == 0, text
        assert "saved: " in text, text
    else:
        # Either the second Ctrl-C arrived while FFmpeg was finishing (stopped fast: 130, a fragmented
        # file that plays) or after the rewrite had already begun (which it lets finish: saved).
        assert status in (0, 130), text
        assert ("saved (stopped fast)" in text) == (status == 130), text
    _assert_plays_with_printed_frames(out, text)
    _assert_terminal_restored(child, text)


def test_ctrl_c_during_the_countdown_creates_nothing(caprec_env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    child = _spawn(caprec_env, tmp_path, "--delay", "30", "-o", str(out))
    try:
        child.expect("recording starts in")
        child.sendintr()
        status, text = _finish(child)
    finally:
        child.close(force=True)
    assert status == 130, text
    assert "error" not in text.lower(), text
    assert not out.exists()
    assert list(tmp_path.glob("out*")) == []
    _assert_terminal_restored(child, text)


def _helper_running(pid: int, marker: str) -> bool:
    return any(marker in command_line(child) for child in children_of(pid))


def test_ctrl_c_during_the_final_rewrite_keeps_the_regular_file(caprec_env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    # A 720p test pattern at 60 fps for 6 s: the rewrite takes long enough to be caught.
    child = _spawn(caprec_env, tmp_path, "-d", "6", "--fps", "60", "-o", str(out))
    try:
        wait_until(lambda: _helper_running(child.pid, "faststart"), START_TIMEOUT_S, interval=0.002,
                   message="the rewrite to start")
        child.sendintr()
        status, text = _finish(child)
    finally:
        child.close(force=True)
    # The rewrite is a stream copy that finishes in a moment: it is never cut short.
    assert status in (0, 130), text
    assert "error" not in text.lower(), text
    frames = _assert_plays_with_printed_frames(out, text)
    assert frames == 360, text


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_closing_the_terminal(caprec_env: dict[str, str], tmp_path: Path, signum: int) -> None:
    out = tmp_path / "out.mp4"
    summary = tmp_path / "summary.json"
    child = _spawn(caprec_env, tmp_path, "-o", str(out), "--summary-file", str(summary))
    try:
        _recording(out)
        if signum == signal.SIGHUP:
            # Closing the terminal: the kernel hangs up the session; caprec's terminal is gone.
            os.close(child.child_fd)
            child.child_fd = -1
            child.closed = True
        else:
            child.kill(signum)
            _finish(child)
        wait_until(lambda: not child.isalive(), PTY_TIMEOUT_S, message="caprec to exit")
    finally:
        if child.isalive():
            child.kill(signal.SIGKILL)
    document = json.loads(summary.read_text())
    assert child.exitstatus == 0, document
    assert document["exit_code"] == 0, document
    assert document["status"] == "complete", document
    probed = ffprobe(out)
    assert probed.frames > 0
    assert probed.frames == document["frames"], document
