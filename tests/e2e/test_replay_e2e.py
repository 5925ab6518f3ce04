"""``caprec record --replay`` end to end: real ffmpeg, real signals, a second process, a pty, Xvfb.

Every clip is checked the way a user would: ffprobe reads its streams, its
first frame must be a keyframe (I), a full decode must be clean, audio and
video must end together, and overlapping clips must share their frames.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from caprec.capture.cursor.reader import read_cursor_log
from caprec.capture.replay.runtime import RuntimeFile, runtime_dir
from support.clips import assert_good_clip, frame_hashes
from support.polling import wait_until
from support.process import python_argv, terminate_and_reap
from support.pty import spawn_in_pty
from support.run import RunCaprec, SpawnCaprec
from support.xserver import XServer

pytestmark = pytest.mark.slow

WINDOW_S = 10
START_TIMEOUT_S = 30.0
SAVE_TIMEOUT_S = 30.0
FINISH_TIMEOUT_S = 30.0
# A save holds N to N + one fragment (one keyframe interval, 1 s), and what was recorded when it is shorter.
FRAGMENT_S = 1.0
SLACK_S = 0.05
FPS = 30
POINTER_STEP_S = 0.03  # about a move a frame (xdotool adds its own few ms)
POINTER_STEPS = 2000  # a minute of moves, longer than any test here; the mover is stopped at its end


@pytest.fixture
def replay_env(caprec_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """caprec's environment with a private runtime directory of its own."""
    run = tmp_path / "run"
    run.mkdir(mode=0o700)
    return {**caprec_env, "XDG_RUNTIME_DIR": str(run)}


def clips_in(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("*.mp4") if not p.name.startswith("."))


def wait_for_clip(directory: Path, count: int, proc: subprocess.Popen[bytes]) -> Path:
    found = wait_until(lambda: len(clips_in(directory)) >= count or proc.poll() is not None, SAVE_TIMEOUT_S,
                       message=f"clip {count}")
    assert found and len(clips_in(directory)) >= count, f"caprec exited with {proc.poll()}"
    newest = max(clips_in(directory), key=lambda p: p.stat().st_mtime_ns)
    return newest


def runtime_file(env: dict[str, str]) -> Path | None:
    files = list((Path(env["XDG_RUNTIME_DIR"]) / "caprec").glob("replay-*.json"))
    return files[0] if files else None


def wait_until_recorded(started: float, seconds: float) -> None:
    """Let the recording run until ``seconds`` after it started (the stimulus is time itself)."""
    wait_until(lambda: time.monotonic() - started >= seconds, seconds + 1, message=f"{seconds} s of recording",
               interval=0.05)


@contextlib.contextmanager
def moving_pointer(xvfb: XServer) -> Iterator[None]:
    """One xdotool moving the pointer (which x11grab draws) to a new spot every POINTER_STEP_S: every frame of the
    screen differs from those a second away, as the test pattern's frames do."""
    steps: list[str] = []
    for step in range(POINTER_STEPS):
        steps += ["mousemove", str(100 + step % 1000), str(100 + 100 * (step // 1000)), "sleep", f"{POINTER_STEP_S:g}"]
    mover = subprocess.Popen(["xdotool", *steps], env=xvfb.env, stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        terminate_and_reap(mover)


@pytest.fixture(params=["test", pytest.param("x11grab", marks=pytest.mark.x11)])
def replay_run(request: pytest.FixtureRequest, spawn_caprec: SpawnCaprec, replay_env: dict[str, str],
               tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path, float]]:
    """``caprec record --replay 10s`` with the test tone, on the test pattern or on Xvfb (x11grab)."""
    clips = tmp_path / "clips"
    clips.mkdir()
    with contextlib.ExitStack() as stack:
        source, env = ["--source", "test"], replay_env
        if request.param == "x11grab":
            xvfb: XServer = request.getfixturevalue("xvfb")
            source, env = ["--display", xvfb.display, "--no-cursor"], {**replay_env, "DISPLAY": xvfb.display}
            stack.enter_context(moving_pointer(xvfb))
        proc = spawn_caprec(["record", *source, "--audio", "test", "--replay", f"{WINDOW_S}s",
                             "-o", str(clips / "game")], cwd=tmp_path, env=env, stdout=subprocess.PIPE)
        wait_until(lambda: runtime_file(replay_env) is not None or proc.poll() is not None, START_TIMEOUT_S,
                   message="the replay recorder's runtime file")
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        yield proc, clips, time.monotonic()


def shared_run(first: list[str], second: list[str]) -> int:
    """How many frames the end of ``first`` and the start of ``second`` share as one run (0: none)."""
    for skip in range(len(first)):
        if first[skip:] == second[:len(first) - skip]:
            return len(first) - skip
    return 0


def test_saves_at_5_s_then_10_s_twice_1_s_apart(replay_run: tuple[subprocess.Popen[bytes], Path, float],
                                                 run_caprec: RunCaprec, replay_env: dict[str, str],
                                                 tmp_path: Path) -> None:
    proc, clips, started = replay_run
    assert clips_in(clips) == []  # nothing is written until a save

    wait_until_recorded(started, 5)
    proc.send_signal(signal.SIGUSR2)
    early = wait_for_clip(clips, 1, proc)
    assert early.name.startswith("game-") and early.suffix == ".mp4"
    # What exists: the fragments completed so far (up to one keyframe interval behind).
    early_s = assert_good_clip(early, audio=True)
    assert 5 - 2 * FRAGMENT_S - SLACK_S <= early_s <= time.monotonic() - started, early_s

    wait_until_recorded(started, 13)
    saved = run_caprec(["save"], cwd=tmp_path, env=replay_env)
    assert saved.returncode == 0, saved.stderr
    full = Path(saved.stdout.strip())
    assert saved.stdout.count("\n") == 1 and full.parent == clips and full.exists(), saved.stdout
    assert WINDOW_S - SLACK_S <= assert_good_clip(full, audio=True) <= WINDOW_S + FRAGMENT_S + SLACK_S

    wait_until(lambda: time.time() - full.stat().st_mtime >= 1.0, 5, message="1 s after the last save")
    proc.send_signal(signal.SIGUSR2)
    later = wait_for_clip(clips, 3, proc)
    assert later not in (early, full)
    assert WINDOW_S - SLACK_S <= assert_good_clip(later, audio=True) <= WINDOW_S + FRAGMENT_S + SLACK_S
    # Overlapping clips share the same frames (stream copies of the same fragments), the later one goes further.
    first, second = frame_hashes(full), frame_hashes(later)
    shared = shared_run(first, second)
    assert shared >= (WINDOW_S - 3) * FPS, shared
    assert second[-1] not in set(first) and first[0] not in set(second)

    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=FINISH_TIMEOUT_S)
    assert proc.returncode == 0, err.decode()
    assert "stopped without saving" in err.decode()
    assert sorted(Path(line) for line in out.decode().splitlines()) == sorted([early, full, later])
    assert len(clips_in(clips)) == 3 and runtime_file(replay_env) is None
    assert [p.name for p in clips.iterdir() if p.name.startswith(".")] == []


def test_the_s_key_saves_from_a_terminal_and_save_on_exit(replay_env: dict[str, str], tmp_path: Path) -> None:
    pexpect = pytest.importorskip("pexpect")
    argv = python_argv("record", "--source", "test", "--replay", "3s", "--save-on-exit", "-o", str(tmp_path))
    child = spawn_in_pty(argv, cwd=tmp_path, env={**replay_env, "TERM": "xterm-256color"},
                         timeout=START_TIMEOUT_S)
    seen = io.StringIO()
    child.logfile_read = seen
    try:
        child.expect("replay buffer: keeping the last 3 s")
        # No pause in replay mode: SIGUSR1 is ignored (not fatal), space does nothing.
        child.kill(signal.SIGUSR1)
        child.send(" ")
        first: Path | None = None
        while first is None:  # until the first fragment exists: before, a save says "nothing to save yet"
            child.send("s")
            index = child.expect([r"saved: (\S+\.mp4)", "nothing to save yet"])
            if index == 0:
                first = tmp_path / Path(child.match.group(1)).name
        child.sendintr()
        child.expect(r"saved: (\S+\.mp4)")
        last = tmp_path / Path(child.match.group(1)).name
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0, child.before
    assert "PAUSED" not in seen.getvalue()
    assert first != last
    # The exit save comes later and ends with the last fragment FFmpeg wrote when it stopped.
    assert 0 < assert_good_clip(first, audio=False) < assert_good_clip(last, audio=False) <= 3 + FRAGMENT_S + SLACK_S


@pytest.mark.x11
def test_x11grab_clip_with_its_cursor_slice(spawn_caprec: SpawnCaprec, xvfb: XServer, replay_env: dict[str, str],
                                            tmp_path: Path) -> None:
    env = {**replay_env, "DISPLAY": xvfb.display}
    subprocess.run(["xdotool", "mousemove", "10", "10"], env=xvfb.env, check=True, timeout=5)
    proc = spawn_caprec(["record", "--display", xvfb.display, "--replay", "3s", "--cursor", "--cursor-flush", "0.2",
                         "-o", str(tmp_path / "desk.mp4")], cwd=tmp_path, env=env, stdout=subprocess.PIPE)
    wait_until(lambda: runtime_file(replay_env) is not None or proc.poll() is not None, START_TIMEOUT_S,
               message="the replay recorder's runtime file")
    started = time.monotonic()
    spot = 0
    while time.monotonic() - started < 5:  # the pointer moves all along: early moves must not be in the clip
        spot += 1
        subprocess.run(["xdotool", "mousemove", str(100 + spot), "200"], env=xvfb.env, check=True, timeout=5)
        time.sleep(0.1)  # pacing of the stimulus, not synchronisation
    proc.send_signal(signal.SIGUSR2)
    clip = wait_for_clip(tmp_path, 1, proc)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=FINISH_TIMEOUT_S)
    assert proc.returncode == 0, err.decode()
    assert Path(out.decode().strip()) == clip
    duration = assert_good_clip(clip, audio=False)
    assert 3 - SLACK_S <= duration <= 3 + FRAGMENT_S + SLACK_S
    log = clip.with_name(clip.stem + ".cursor.ndjson")
    cursor = read_cursor_log(log)
    assert cursor.warnings == []
    times = [event["t"] for event in cursor.events]
    assert times and times[0] >= 0 and times[-1] <= duration * 1000 + 1
    # A move every 0.1 s over the clip's span: rebased to the clip, not the whole recording.
    assert len(times) >= duration * 5
    xs = [event["x"] for event in cursor.events]
    assert min(xs) > 100 + spot // 10, (min(xs), spot)  # the first positions were forgotten with the video


def test_a_failed_save_is_reported_and_the_buffer_goes_on(spawn_caprec: SpawnCaprec, run_caprec: RunCaprec,
                                                           replay_env: dict[str, str], tmp_path: Path) -> None:
    clips = tmp_path / "clips"
    clips.mkdir()
    proc = spawn_caprec(["record", "--source", "test", "--replay", "2s", "-o", str(clips)], cwd=tmp_path,
                        env=replay_env, stdout=subprocess.PIPE)
    wait_until(lambda: runtime_file(replay_env) is not None or proc.poll() is not None, START_TIMEOUT_S,
               message="the replay recorder's runtime file")
    wait_until_recorded(time.monotonic(), 2)
    os.rename(clips, tmp_path / "gone")  # the clips directory vanished under the recorder
    failed = run_caprec(["save"], cwd=tmp_path, env=replay_env)
    os.rename(tmp_path / "gone", clips)
    assert failed.returncode == 1 and failed.stdout == "", failed
    assert "could not save" in failed.stderr and "\n" not in failed.stderr.strip()
    saved = run_caprec(["save"], cwd=tmp_path, env=replay_env)  # the buffer went on
    assert saved.returncode == 0, saved.stderr
    assert assert_good_clip(Path(saved.stdout.strip()), audio=False) >= 2 - SLACK_S
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=FINISH_TIMEOUT_S)
    assert proc.returncode == 1, err.decode()  # a save failed during the run: said at the time, and in the code
    assert "error: save failed" in err.decode()


def test_the_memory_bound_keeps_fewer_seconds_and_says_so(spawn_caprec: SpawnCaprec, replay_env: dict[str, str],
                                                          tmp_path: Path) -> None:
    proc = spawn_caprec(["record", "--source", "test", "--replay", "10s", "--replay-max-memory", "1MiB",
                         "-o", str(tmp_path / "tight")], cwd=tmp_path, env=replay_env, stdout=subprocess.PIPE)
    wait_until(lambda: runtime_file(replay_env) is not None or proc.poll() is not None, START_TIMEOUT_S,
               message="the replay recorder's runtime file")
    wait_until_recorded(time.monotonic(), 5)
    proc.send_signal(signal.SIGUSR2)
    clip = wait_for_clip(tmp_path, 1, proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=FINISH_TIMEOUT_S)
    assert proc.returncode == 0, err.decode()
    # 1 MiB holds about two seconds of the 1280x720 test pattern: never fewer than two fragments.
    held = assert_good_clip(clip, audio=False)
    assert 2 * FRAGMENT_S - SLACK_S <= held < 5
    assert f"({held:.1f} s of the 10 s asked: --replay-max-memory 1.0 MiB holds only that" in err.decode()


def test_bad_replay_input_is_one_line_and_creates_nothing(run_caprec: RunCaprec, replay_env: dict[str, str],
                                                          tmp_path: Path) -> None:
    cases = [
        (["--replay", "0"], "--replay"),
        (["--replay", "10s", "-o", "-"], "stdout"),
        (["--replay", "10s", "--mode", "studio"], "studio"),
        (["--save-on-exit"], "--save-on-exit"),
        (["--replay", "10s", "--replay-max-memory", "12"], "--replay-max-memory"),
        (["--replay", "10s", "-o", str(tmp_path / "missing" / "game")], "does not exist"),
        (["--replay", "10s", "-o", str(tmp_path / "game.mkv")], "MP4"),
        (["--replay", "10s", "--json"], "--json"),
    ]
    before = sorted(tmp_path.rglob("*"))
    for args, culprit in cases:
        result = run_caprec(["record", "--source", "test", *args], cwd=tmp_path, env=replay_env)
        assert result.returncode == 2, (args, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and culprit in lines[0], (args, result.stderr)
        if "--json" not in args:  # --json reports even a refusal as a JSON summary on stdout
            assert result.stdout == ""
    assert sorted(tmp_path.rglob("*")) == before


def test_caprec_save_refuses_when_none_or_several_run(run_caprec: RunCaprec, replay_env: dict[str, str],
                                                      tmp_path: Path) -> None:
    none = run_caprec(["save"], cwd=tmp_path, env=replay_env)
    assert none.returncode == 1 and none.stdout == ""
    assert none.stderr.strip().splitlines() == ["error: no replay recorder is running; start one with caprec "
                                                "record --replay 30s"]
    directory = runtime_dir(replay_env)
    assert list(directory.iterdir()) == []
    # Two live processes that registered as replay recorders (they never get a signal: the save is refused).
    sleepers = [subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) for _ in range(2)]
    try:
        with RuntimeFile(pattern="a", seconds=5, directory=directory, pid=sleepers[0].pid), \
                RuntimeFile(pattern="b", seconds=5, directory=directory, pid=sleepers[1].pid):
            several = run_caprec(["save"], cwd=tmp_path, env=replay_env)
            assert all(s.poll() is None for s in sleepers)
    finally:
        for sleeper in sleepers:
            sleeper.kill()
            sleeper.wait()
    assert several.returncode == 2 and several.stdout == ""
    line = several.stderr.strip()
    assert "\n" not in line and "--pid" in line
    assert all(f"pid {s.pid}" in line for s in sleepers)
    assert list(directory.iterdir()) == []
    assert os.stat(directory).st_mode & 0o777 == 0o700
