"""``-o -``: the video on stdout, read by a pipe that may stop early, never dumped on a terminal."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest
from support.process import python_argv

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")

PIPELINE_TIMEOUT_S = 60.0
# Long enough that an early reader's exit must end the recording, not the duration.
LONG_RECORDING_S = 40


def _pipeline(caprec_env: dict[str, str], tmp_path: Path, duration: int,
              reader: list[str]) -> tuple[int, str, int, float]:
    """``caprec record --source test -d DURATION -o - | READER``: caprec's exit code and stderr, the reader's code."""
    started = time.monotonic()
    caprec = subprocess.Popen(python_argv("record", "--source", "test", "-d", str(duration), "-o", "-"),
                              cwd=tmp_path, env=caprec_env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    assert caprec.stdout is not None
    reading = subprocess.Popen(reader, stdin=caprec.stdout, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    caprec.stdout.close()  # the reader holds the only read end, as in a shell pipeline
    try:
        _, err = caprec.communicate(timeout=PIPELINE_TIMEOUT_S)
        reader_code = reading.wait(timeout=PIPELINE_TIMEOUT_S)
    finally:
        for proc in (caprec, reading):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return caprec.returncode, err.decode(errors="replace"), reader_code, time.monotonic() - started


@pytest.mark.skipif(shutil.which("ffprobe") is None, reason="needs ffprobe")
def test_the_readme_example_piped_into_ffprobe_works_as_printed(caprec_env: dict[str, str], tmp_path: Path) -> None:
    code, err, probed, _ = _pipeline(caprec_env, tmp_path, 3, ["ffprobe", "-"])
    assert probed == 0
    assert code == 0, err
    assert "error" not in err.lower(), err


def test_a_reader_that_stops_early_ends_the_recording_quietly(caprec_env: dict[str, str], tmp_path: Path) -> None:
    code, err, head, wall = _pipeline(caprec_env, tmp_path, LONG_RECORDING_S, ["head", "-c", "1000"])
    assert head == 0
    assert code == 0, err
    assert "error" not in err.lower(), err
    assert "Traceback" not in err
    assert wall < LONG_RECORDING_S / 2, (wall, err)


def test_binary_output_to_a_terminal_is_refused(caprec_env: dict[str, str], tmp_path: Path) -> None:
    pexpect = pytest.importorskip("pexpect")
    argv = python_argv("record", "--source", "test", "-d", "2", "-o", "-")
    child = pexpect.spawn(argv[0], argv[1:], cwd=str(tmp_path), env=caprec_env, timeout=PIPELINE_TIMEOUT_S)
    try:
        child.expect(pexpect.EOF)
        text = child.before
    finally:
        child.close(force=True)
    assert child.exitstatus == 2, text
    lines = [line for line in text.decode(errors="replace").splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: --output: "), lines
    assert "terminal" in lines[0]
    assert b"ftyp" not in text
