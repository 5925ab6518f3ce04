"""``caprec record`` end to end: real ffmpeg, a real Xvfb display, real signals.

Every recording is checked with ffprobe (frames counted by decoding, codec,
size, duration) and, where it matters, by walking the MP4's top-level boxes.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import termios
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from caprec.capture.ffmpeg.process import STOP_KEY_TIMEOUT
from caprec.exit import ExitStatus
from support.fake_ffmpeg import wrapped_ffmpeg
from support.files import file_size
from support.media import Probe, ffprobe_bytes
from support.mp4 import complete_fragments, mp4_top_level_boxes
from support.polling import wait_until
from support.process import children_of, process_gone, signal_pending
from support.recording import finish
from support.run import RunCaprec, SpawnCaprec
from support.xserver import XServer

FPS = 30
FRAME_SLACK = 2
X11_FRAME_SLACK = 3
DURATION_SLACK_S = 0.2
# Start-up (interpreter, ffmpeg, encoder) plus the recording itself.
START_TIMEOUT_S = 20.0
FINISH_TIMEOUT_S = 30.0
ORPHAN_EXIT_TIMEOUT_S = 2.0
# The moov header of an empty fMP4 is well under this; more means a fragment (>= 1 s of video) arrived.
FIRST_FRAGMENT_BYTES = 1000

Probe_ = Callable[[Path], Probe]
pytestmark = pytest.mark.slow


def assert_regular_mp4(path: Path) -> None:
    """A finished recording: remuxed with faststart, so moov comes before mdat and there are no fragments."""
    boxes = mp4_top_level_boxes(path)
    assert boxes[0] == "ftyp", boxes
    assert "moov" in boxes and "mdat" in boxes, boxes
    assert boxes.index("moov") < boxes.index("mdat"), f"moov after mdat (no faststart): {boxes}"
    assert "moof" not in boxes, f"still fragmented: {boxes}"


def assert_fragmented_mp4(path: Path) -> None:
    """A file kept as FFmpeg wrote it: empty moov first, then moof+mdat fragments."""
    boxes = mp4_top_level_boxes(path)
    assert boxes[:2] == ["ftyp", "moov"], boxes
    assert "moof" in boxes, f"not fragmented: {boxes}"


def wait_until_growing(path: Path, proc: subprocess.Popen[bytes]) -> None:
    def grown() -> bool:
        assert proc.poll() is None, f"caprec exited early ({proc.returncode})"
        return file_size(path) > FIRST_FRAGMENT_BYTES

    wait_until(grown, START_TIMEOUT_S, message=f"{path.name} to receive its first fragment")


def only_child(pid: int) -> int:
    """The one child process of ``pid`` (caprec's ffmpeg)."""
    kids = wait_until(lambda: children_of(pid), START_TIMEOUT_S, message=f"a child of {pid}")
    assert len(kids) == 1, kids
    return kids[0]


# --- The test pattern -------------------------------------------------------------------

def test_test_pattern_to_a_file(run_caprec: RunCaprec, probe: Probe_, tmp_path: Path) -> None:
    result = run_caprec(["record", "--source", "test", "-d", "3", "-o", "f.mp4"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "saved: f.mp4" in result.stderr
    assert result.stdout == ""
    out = tmp_path / "f.mp4"
    media = probe(out)
    assert media.codec == "h264"
    assert abs(media.frames - 3 * FPS) <= FRAME_SLACK, media
    assert media.duration is not None and abs(media.duration - 3.0) <= DURATION_SLACK_S, media
    assert (media.width, media.height) == (1280, 720)
    assert_regular_mp4(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.mp4"]  # no temporary sibling left


def test_overwrite_replaces_an_existing_file(run_caprec: RunCaprec, probe: Probe_, tmp_path: Path) -> None:
    out = tmp_path / "f.mp4"
    out.write_bytes(b"old")
    result = run_caprec(["record", "--source", "test", "-d", "1", "--fps", "10", "-o", "f.mp4", "--overwrite"],
                        cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    media = probe(out)
    assert abs(media.frames - 10) <= FRAME_SLACK, media
    assert_regular_mp4(out)


def test_mp4_on_stdout_into_ffprobe(spawn_caprec: SpawnCaprec, tmp_path: Path) -> None:
    """``caprec ... -o - | ffprobe -i pipe:0``: stdout carries MP4 bytes only, people text goes to stderr."""
    caprec = spawn_caprec(["record", "--source", "test", "-d", "2", "-o", "-"], cwd=tmp_path,
                          stdout=subprocess.PIPE)
    probe_out, probe_err = tmp_path / "ffprobe.out", tmp_path / "ffprobe.err"
    with probe_out.open("wb") as out, probe_err.open("wb") as err_file:
        ffprobe = subprocess.Popen(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
                                    "-show_entries", "stream=codec_name,nb_read_frames", "-of", "csv=p=0",
                                    "-i", "pipe:0"], stdin=subprocess.PIPE, stdout=out, stderr=err_file)
    copy = bytearray()
    assert caprec.stdout is not None and ffprobe.stdin is not None
    # The test sits in the pipe to keep a copy of every byte it carries.
    while chunk := caprec.stdout.read1(65536):
        copy.extend(chunk)
        ffprobe.stdin.write(chunk)
    ffprobe.stdin.close()
    assert ffprobe.wait(FINISH_TIMEOUT_S) == 0, probe_err.read_text()
    code, err = finish(caprec)
    assert code == 0, err
    codec, frames = probe_out.read_text().strip().split(",")
    assert codec == "h264"
    assert abs(int(frames) - 2 * FPS) <= FRAME_SLACK
    # The stream parses as MP4 boxes from the first byte to the last: no stray text.
    stream = tmp_path / "stdout.mp4"
    stream.write_bytes(bytes(copy))
    assert_fragmented_mp4(stream)
    assert ffprobe_bytes(bytes(copy)).frames == int(frames)
    assert "saved: stdout" in err and "frames" in err
    assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ffprobe.err", "ffprobe.out", "stdout.mp4"]


# --- The real screen (x11grab on Xvfb) ------------------------------------------------------

@pytest.mark.x11
@pytest.mark.parametrize(("region", "size"), [(None, (1280, 720)), ("640x480+100+50", (640, 480))],
                         ids=["whole-screen", "region"])
def test_x11grab_on_xvfb(run_caprec: RunCaprec, caprec_env: dict[str, str], xvfb: XServer, probe: Probe_,
                         tmp_path: Path, region: str | None, size: tuple[int, int]) -> None:
    env = {**caprec_env, "DISPLAY": xvfb.display}
    args = ["record", "-d", "2", "--display", xvfb.display, "-o", "f.mp4"]
    result = run_caprec([*args, "--region", region] if region else args, cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    media = probe(tmp_path / "f.mp4")
    assert media.codec == "h264"
    assert (media.width, media.height) == size
    assert abs(media.frames - 2 * FPS) <= X11_FRAME_SLACK, (media, result.stderr)
    assert_regular_mp4(tmp_path / "f.mp4")


@pytest.mark.x11
def test_unusable_display_is_refused_before_anything_starts(run_caprec: RunCaprec, caprec_env: dict[str, str],
                                                            xvfb: XServer, tmp_path: Path) -> None:
    unused = next(n for n in range(900, 1000)
                  if not Path(f"/tmp/.X11-unix/X{n}").exists() and not Path(f"/tmp/.X{n}-lock").exists())
    env = {**caprec_env, "DISPLAY": xvfb.display}  # --display must win over a working $DISPLAY
    result = run_caprec(["record", "-d", "2", "--display", f":{unused}", "-o", "f.mp4"], cwd=tmp_path, env=env)
    assert result.returncode == ExitStatus.ENVIRONMENT == 3
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert f":{unused}" in lines[0]
    assert list(tmp_path.iterdir()) == []


# --- Stopping -------------------------------------------------------------------------------

@pytest.mark.parametrize(("signum", "extra", "expected"), [
    (signal.SIGINT, [], ExitStatus.OK),
    (signal.SIGTERM, [], ExitStatus.OK),
    (signal.SIGHUP, [], ExitStatus.OK),
    (signal.SIGINT, ["-d", "1m"], ExitStatus.INTERRUPTED),  # stopped before its --duration
], ids=["SIGINT", "SIGTERM", "SIGHUP", "SIGINT-before-duration"])
def test_a_signal_stops_cleanly(spawn_caprec: SpawnCaprec, probe: Probe_, tmp_path: Path,
                                signum: signal.Signals, extra: list[str], expected: ExitStatus) -> None:
    out = tmp_path / "f.mp4"
    caprec = spawn_caprec(["record", "--source", "test", "-o", "f.mp4", *extra], cwd=tmp_path)
    wait_until_growing(out, caprec)
    caprec.send_signal(signum)
    code, err = finish(caprec)
    assert code == expected, err
    assert "Traceback" not in err
    assert "saved: f.mp4" in err
    media = probe(out)
    assert media.codec == "h264" and media.frames >= FPS, media  # at least the first fragment's second
    assert_regular_mp4(out)  # a clean stop finishes the file: q, then remux


def test_second_sigint_stops_fast(spawn_caprec: SpawnCaprec, probe: Probe_, tmp_path: Path) -> None:
    """A second Ctrl-C while caprec waits for ffmpeg to obey q ends the wait: terminate, exit 130.

    The ffmpeg here is the real one behind a wrapper that keeps caprec's
    stdin pipe open on fd 3 but gives ffmpeg /dev/null, so ffmpeg never sees
    q: without the second SIGINT, caprec would wait STOP_KEY_TIMEOUT for it.
    """
    deaf = wrapped_ffmpeg(tmp_path / "ffmpeg-deaf", "exec 3<&0 </dev/null")
    out = tmp_path / "f.mp4"
    caprec = spawn_caprec(["record", "--source", "test", "-o", "f.mp4", "--ffmpeg", str(deaf)], cwd=tmp_path)
    wait_until_growing(out, caprec)
    ffmpeg_pid = only_child(caprec.pid)

    caprec.send_signal(signal.SIGINT)
    first_at = time.monotonic()
    # caprec's answer to the first SIGINT is q on ffmpeg's stdin: wait until it sits in the pipe.
    stdin_pipe = os.open(f"/proc/{ffmpeg_pid}/fd/3", os.O_RDONLY | os.O_NONBLOCK)
    try:
        def queued() -> int:
            count = bytearray(4)
            fcntl.ioctl(stdin_pipe, termios.FIONREAD, count)
            return int.from_bytes(count, "little")

        wait_until(queued, START_TIMEOUT_S, message="caprec to send q after the first SIGINT")
    finally:
        os.close(stdin_pipe)
    assert not signal_pending(caprec.pid, signal.SIGINT)
    caprec.send_signal(signal.SIGINT)

    code, err = finish(caprec)
    took = time.monotonic() - first_at
    assert code == ExitStatus.INTERRUPTED == 130, err
    # Without the second SIGINT taking effect, the wait after q alone lasts STOP_KEY_TIMEOUT.
    assert took < STOP_KEY_TIMEOUT, f"the second SIGINT did not cut the q wait short ({took:.1f} s)"
    assert "Traceback" not in err
    assert "stopped fast" in err
    assert process_gone(ffmpeg_pid)
    media = probe(out)
    assert media.codec == "h264" and media.frames >= FPS, media
    assert_fragmented_mp4(out)  # kept as written: plays, not remuxed


def test_kill_9_leaves_no_ffmpeg_and_a_playable_file(spawn_caprec: SpawnCaprec, probe: Probe_,
                                                     tmp_path: Path) -> None:
    out = tmp_path / "f.mp4"
    caprec = spawn_caprec(["record", "--source", "test", "-o", "f.mp4"], cwd=tmp_path)
    # One whole fragment (a keyframe interval: 1 s, FPS frames) on disk before the kill.
    wait_until(lambda: complete_fragments(out) >= 1, START_TIMEOUT_S, message="a whole fragment on disk")
    ffmpeg_pid = only_child(caprec.pid)
    assert not process_gone(ffmpeg_pid)
    caprec.send_signal(signal.SIGKILL)
    assert caprec.wait(FINISH_TIMEOUT_S) == -signal.SIGKILL
    # ffmpeg is not caprec's process group: only the broken output pipe can end it.
    wait_until(lambda: process_gone(ffmpeg_pid), ORPHAN_EXIT_TIMEOUT_S,
               message=f"orphaned ffmpeg {ffmpeg_pid} to exit on EPIPE")
    media = probe(out)
    assert media.codec == "h264" and media.frames >= FPS, media
    assert mp4_top_level_boxes(out)[:3] == ["ftyp", "moov", "moof"]
