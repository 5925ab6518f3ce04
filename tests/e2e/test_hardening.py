"""Issue 9, items 1-11: no writes through symlinks, no false "saved", no stall unnoticed, nothing left behind.

Each test reproduces a hostile case that failed on a063500. Where another
local user is the attacker, a second unprivileged user (made here with
``useradd``, root only) plants the links and files; real ffmpeg, a real X
display for the cursor log, a tmpfs for the full disk.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pwd
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from caprec.capture.cursor.format import CursorContext, Region
from caprec.capture.cursor.writer import CursorStats
from caprec.capture.ffmpeg.argv import Backend, Encoding, VideoSource
from caprec.capture.ffmpeg.binary import find_ffmpeg
from caprec.capture.record.segment import Recorder, RecordingStats, StopControl
from caprec.capture.record.session import CursorSpec, Mode, Session, SessionSpec
from support.fake_ffmpeg import wrapped_ffmpeg
from support.files import tmpfs
from support.media import ffprobe, fragmented_video, tear
from support.polling import wait_until
from support.process import children_of, kill_if_running, process_gone
from support.run import RunCaprec, SpawnCaprec
from support.xserver import XServer

FPS = 30
START_TIMEOUT_S = 30.0
FINISH_TIMEOUT_S = 60.0
SECRET = b"the victim's notes\n"
STALL_S = 4.0
STATS_NAME = "stats.json"


# -- the attacker ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attacker:
    """Another local user, who can write to shared (sticky, world-writable) directories."""

    name: str
    uid: int

    def run(self, *argv: str) -> None:
        subprocess.run(list(argv), user=self.uid, group=pwd.getpwuid(self.uid).pw_gid, check=True, timeout=30,
                       env={"PATH": "/usr/bin:/bin"})


@pytest.fixture(scope="session")
def attacker() -> Iterator[Attacker]:
    """A throwaway unprivileged user (root only: useradd)."""
    if os.geteuid() != 0 or shutil.which("useradd") is None:
        pytest.skip("playing another local user needs root and useradd")
    name = f"caprec-h{uuid.uuid4().hex[:8]}"
    subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", name], check=True,
                   capture_output=True)
    try:
        yield Attacker(name=name, uid=pwd.getpwnam(name).pw_uid)
    finally:
        subprocess.run(["userdel", name], check=False, capture_output=True)


@pytest.fixture
def shared() -> Iterator[Path]:
    """A /tmp-like directory: world-writable and sticky (in /tmp itself, so another user can reach it)."""
    directory = Path(tempfile.mkdtemp(prefix="caprec-shared-", dir="/tmp"))
    directory.chmod(0o1777)
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    path = tmp_path / "notes.txt"
    path.write_bytes(SECRET)
    return path


def record_args(out: Path, *extra: str, duration: str = "1") -> list[str]:
    return ["record", "--source", "test", "--duration", duration, "-o", str(out), "--quiet", *extra]


# -- 1. stats and summary files ----------------------------------------------------------------


def test_stats_and_summary_files_replace_a_planted_link_never_its_target(
        run_caprec: RunCaprec, shared: Path, victim: Path, attacker: Attacker) -> None:
    stats, summary = shared / "rec.json", shared / "sum.json"
    attacker.run("ln", "-s", str(victim), str(stats))
    attacker.run("ln", "-s", str(victim), str(summary))
    done = run_caprec(record_args(shared / "x.mp4", "--stats-file", str(stats), "--summary-file", str(summary)),
                      cwd=shared, timeout=FINISH_TIMEOUT_S)
    assert done.returncode == 0, done.stderr
    assert victim.read_bytes() == SECRET
    for path in (stats, summary):
        assert stat.S_ISREG(path.lstat().st_mode), f"{path} is still a link"
        assert json.loads(path.read_text())["status"] == "complete"
    assert [p.name for p in shared.iterdir() if p.name.startswith(".")] == []


# -- 2. temporary siblings ---------------------------------------------------------------------


def test_planted_temporary_names_are_never_used(spawn_caprec: SpawnCaprec, shared: Path, victim: Path,
                                                attacker: Attacker) -> None:
    out = shared / "x.mp4"
    proc = spawn_caprec(record_args(out, duration="3"), cwd=shared)
    pid = proc.pid
    # The names a063500 used, each a link to the victim: FFmpeg's -y wrote through it, and the rename put the
    # attacker's link at the output path.
    for tag in ("remux", "join"):
        attacker.run("ln", "-s", str(victim), str(shared / f".x.mp4.{tag}-{pid}.mp4"))
    attacker.run("ln", "-s", str(victim), str(shared / f".x.mp4.concat-{pid}.txt"))
    attacker.run("ln", "-s", str(victim), str(shared / f".x.mp4.recover-{pid}.mp4"))
    assert proc.wait(FINISH_TIMEOUT_S) == 0, proc.stderr.read() if proc.stderr else ""
    assert victim.read_bytes() == SECRET
    info = out.lstat()
    assert stat.S_ISREG(info.st_mode) and info.st_uid == os.geteuid()
    assert info.st_mode & 0o002 == 0, "the recording is writable by others"
    assert ffprobe(out).frames > 0


def test_temporary_names_fit_name_max_and_are_exclusive(tmp_path: Path) -> None:
    # Imported here so that benchmarks/hostile.py can run this file against older trees.
    from caprec.capture.files.tempfiles import NAME_MAX, owned_temp, temp_prefix

    long_name = tmp_path / ("é" * 120 + "x.mp4")  # 245 bytes
    assert len(os.fsencode(long_name.name)) <= NAME_MAX
    with owned_temp(long_name, "remux") as first, owned_temp(long_name, "remux") as second:
        assert first.path != second.path
        for temp in (first, second):
            assert len(os.fsencode(temp.path.name)) <= NAME_MAX
            assert temp.path.name.startswith(temp_prefix(long_name, "remux"))
            assert stat.S_IMODE(temp.path.stat().st_mode) == 0o600
    assert list(tmp_path.iterdir()) == []


# -- 3. --overwrite ----------------------------------------------------------------------------


def test_overwrite_replaces_a_link_never_its_target(run_caprec: RunCaprec, shared: Path, victim: Path,
                                                    attacker: Attacker) -> None:
    out = shared / "x.mp4"
    attacker.run("ln", "-s", str(victim), str(out))
    done = run_caprec(record_args(out, "--overwrite"), cwd=shared, timeout=FINISH_TIMEOUT_S)
    assert done.returncode == 0, done.stderr
    assert victim.read_bytes() == SECRET
    assert stat.S_ISREG(out.lstat().st_mode)
    assert ffprobe(out).frames > 0


# -- 4. the cursor log is an output too --------------------------------------------------------


def test_a_cursor_log_that_appears_during_the_delay_is_kept(spawn_caprec: SpawnCaprec, tmp_path: Path,
                                                            xvfb: XServer) -> None:
    out = tmp_path / "x.mp4"
    log = tmp_path / "x.cursor.ndjson"
    proc = spawn_caprec(["record", "--cursor", "--display", xvfb.display, "--duration", "1", "--delay", "3",
                         "-o", str(out)], cwd=tmp_path)
    assert proc.stderr is not None
    first = proc.stderr.readline().decode()  # planned and checked: the countdown has begun
    assert first.startswith("recording starts in"), first
    log.write_bytes(SECRET)  # another recording's log, written during our countdown
    code = proc.wait(FINISH_TIMEOUT_S)
    err = proc.stderr.read().decode()
    assert log.read_bytes() == SECRET
    assert code == 2, err
    assert "already exists" in err and str(log) in err, err


# -- 5. a failed join is a failure; the join does not depend on the name -----------------------


def pause_twice(proc: subprocess.Popen[bytes], out: Path, part: Path) -> None:
    """Pause once the recording started, resume, wait for the second segment's file."""
    wait_until(lambda: out.exists() and out.stat().st_size > 0, START_TIMEOUT_S, message="the first segment")
    proc.send_signal(signal.SIGUSR1)  # pause
    wait_until(lambda: out.stat().st_size > 10_000, START_TIMEOUT_S, message="a fragment written")
    proc.send_signal(signal.SIGUSR1)  # resume
    wait_until(lambda: part.exists() and part.stat().st_size > 10_000, START_TIMEOUT_S,
               message="the second segment")


def test_a_newline_in_the_name_joins_every_segment(spawn_caprec: SpawnCaprec, tmp_path: Path) -> None:
    out = tmp_path / "two\nlines 'q'.mp4"
    part = tmp_path / "two\nlines 'q'.part-2.mp4"
    proc = spawn_caprec(["record", "--source", "test", "-o", str(out), "--quiet",
                         "--stats-file", str(tmp_path / STATS_NAME)], cwd=tmp_path)
    pause_twice(proc, out, part)
    frames = pause_and_count(proc, [out, part])
    proc.send_signal(signal.SIGINT)
    code = proc.wait(FINISH_TIMEOUT_S)
    assert code == 0, proc.stderr.read() if proc.stderr else ""
    assert not part.exists()
    assert ffprobe(out).frames == frames  # both segments, not segment 1 alone


def pause_and_count(proc: subprocess.Popen[bytes], files: list[Path]) -> int:
    """Pause (every segment finished: the stats file says paused), then count the frames the segments hold."""
    proc.send_signal(signal.SIGUSR1)
    stats = files[0].parent / STATS_NAME
    wait_until(lambda: _status(stats) == "paused", START_TIMEOUT_S, message="paused")
    return sum(ffprobe(path).frames for path in files)


def failing_concat_ffmpeg(tmp_path: Path) -> Path:
    """An ffmpeg that fails every concat (a scripted fault): the real one for everything else."""
    return wrapped_ffmpeg(tmp_path / "ffmpeg-no-concat",
                          "for a in \"$@\"; do [ \"$a\" = concat ] && echo 'concat: I/O error' >&2 && exit 1; done")


def test_a_failed_join_is_a_failure_and_names_the_parts(spawn_caprec: SpawnCaprec, tmp_path: Path) -> None:
    out, part = tmp_path / "x.mp4", tmp_path / "x.part-2.mp4"
    proc = spawn_caprec(["record", "--source", "test", "-o", str(out), "--quiet", "--json",
                         "--ffmpeg", str(failing_concat_ffmpeg(tmp_path))], cwd=tmp_path,
                        stdout=subprocess.PIPE)
    pause_twice(proc, out, part)
    proc.send_signal(signal.SIGINT)
    code = proc.wait(FINISH_TIMEOUT_S)
    err = proc.stderr.read().decode() if proc.stderr else ""
    summary = json.loads(proc.stdout.read() if proc.stdout else b"")
    assert code == 1, err
    assert summary["status"] == "failed" and "saved:" not in err
    assert part.exists() and str(part) in err, err


# -- 6. recover while a recording is paused; a stale lock --------------------------------------


def test_recover_refuses_while_the_recording_is_paused(spawn_caprec: SpawnCaprec, run_caprec: RunCaprec,
                                                       tmp_path: Path) -> None:
    out, part = tmp_path / "x.mp4", tmp_path / "x.part-2.mp4"
    proc = spawn_caprec(["record", "--source", "test", "-o", str(out), "--quiet",
                         "--stats-file", str(tmp_path / STATS_NAME)], cwd=tmp_path)
    pause_twice(proc, out, part)
    pause_and_count(proc, [out, part])  # paused again: no file is open
    refused = run_caprec(["recover", str(out)], cwd=tmp_path)
    assert refused.returncode == 2, refused.stderr
    assert "stop that recording first" in refused.stderr
    assert part.exists()
    # A crash leaves no stale lock: recover works at once.
    proc.send_signal(signal.SIGKILL)
    proc.wait(FINISH_TIMEOUT_S)
    done = run_caprec(["recover", str(out)], cwd=tmp_path, timeout=FINISH_TIMEOUT_S)
    assert done.returncode == 0, done.stderr
    assert not part.exists()


# -- 7. a stalled ffmpeg -----------------------------------------------------------------------


def test_a_frozen_ffmpeg_is_a_visible_stall(spawn_caprec: SpawnCaprec, tmp_path: Path) -> None:
    out, stats = tmp_path / "x.mp4", tmp_path / "stats.json"
    proc = spawn_caprec(["record", "--source", "test", "-o", str(out), "--json", "--stats-file", str(stats)],
                        cwd=tmp_path, stdout=subprocess.PIPE)
    wait_until(lambda: stats.exists() and json.loads(stats.read_text())["status"] == "recording",
               START_TIMEOUT_S, message="recording")
    ffmpeg = wait_until(lambda: children_of(proc.pid), START_TIMEOUT_S, message="ffmpeg")[0]
    os.kill(ffmpeg, signal.SIGSTOP)
    try:
        seen = wait_until(lambda: _status(stats) == "stalled" and json.loads(stats.read_text()),
                          STALL_S + 10, message="a stalled status")
        assert seen["stalled_s"] >= 2.0
    finally:
        os.kill(ffmpeg, signal.SIGCONT)
    wait_until(lambda: _status(stats) == "recording", START_TIMEOUT_S, message="recording again")
    proc.send_signal(signal.SIGINT)
    proc.wait(FINISH_TIMEOUT_S)
    err = proc.stderr.read().decode() if proc.stderr else ""
    summary = json.loads(proc.stdout.read() if proc.stdout else b"")
    assert summary["stalls"] == 1 and summary["stalled_s"] >= 2.0, summary
    assert "duplicated_frames" in summary
    assert "stalled 1 time" in err, err


def _status(path: Path) -> str | None:
    with contextlib.suppress(OSError, ValueError):
        return str(json.loads(path.read_text())["status"])
    return None


# -- 8. segment length: the cursor timeline follows the video ----------------------------------


@dataclass
class OffsetLog:
    """A cursor log stand-in that keeps the offsets the session resumes it at."""

    offsets: list[float] = field(default_factory=list)

    def start(self) -> None: ...
    def set_origin(self, *, monotonic: float, wall: float) -> None: ...
    def pause(self) -> None: ...

    def resume(self, *, offset_ms: float) -> None:
        self.offsets.append(offset_ms / 1000.0)

    def stats(self) -> CursorStats:
        return CursorStats(0, 0, 0, 0, 0, 0, 0, 0, 0, None)

    def stop(self) -> CursorStats:
        return self.stats()


@dataclass
class ManyPauses:
    """Pauses after every few frames, resumes at the next paused tick, stops after ``pauses``."""

    stop: StopControl
    pauses: int
    done: int = 0
    segment_frames: int = 6
    base: int = 0

    def __call__(self, stats: RecordingStats) -> None:
        if stats.paused:
            if self.stop.pause_pending is False and self.done <= self.pauses:
                self.base = stats.progress.frame
                self.stop.toggle_pause()
            return
        if stats.started and stats.progress.frame >= self.base + self.segment_frames and not self.stop.pause_pending:
            if self.done == self.pauses:
                self.stop.request()
            else:
                self.done += 1
                self.stop.toggle_pause()


def test_twenty_pauses_keep_the_cursor_log_on_the_video_within_a_frame(tmp_path: Path) -> None:
    log = OffsetLog()
    context = CursorContext(caprec_version="test", source="lavfi", region=Region(x=0, y=0, width=320, height=240),
                            screen_width=320, screen_height=240, unit="pixels", fps=FPS)
    spec = SessionSpec(mode=Mode.STUDIO, source=VideoSource(backend=Backend.LAVFI, fps=FPS, device="320x240"),
                       encoding=Encoding(), output=tmp_path / "t.caprec",
                       cursor=CursorSpec(path=tmp_path / "t.caprec" / "cursor.ndjson", context=context,
                                         flush_interval=0.5))
    stop = StopControl()
    session = Session(Recorder(find_ffmpeg()), cursor_factory=lambda spec, warn: log)
    result = session.run(spec, stop=stop, on_stats=ManyPauses(stop, pauses=20))
    durations = [ffprobe(tmp_path / "t.caprec" / "segments" / str(i) / "display.mp4").duration or 0.0
                 for i in range(1, len(result.segments) + 1)]
    assert len(durations) == 21 and len(log.offsets) == 20
    for index, offset in enumerate(log.offsets, start=1):
        assert abs(offset - sum(durations[:index])) <= 1.0 / FPS, (index, offset, sum(durations[:index]))
    assert abs(result.stats.elapsed_s - sum(durations)) <= 1.0 / FPS


# -- 9. the output renamed or its directory deleted mid-recording ------------------------------


@pytest.mark.parametrize("how", ["renamed", "directory-deleted"])
def test_a_moved_output_is_reported_where_it_is(spawn_caprec: SpawnCaprec, tmp_path: Path, how: str) -> None:
    directory = tmp_path / "d"
    directory.mkdir()
    out = directory / "x.mp4"
    proc = spawn_caprec(["record", "--source", "test", "-o", str(out)], cwd=tmp_path)
    wait_until(lambda: out.exists() and out.stat().st_size > 10_000, START_TIMEOUT_S, message="recording")
    if how == "renamed":
        out.rename(directory / "ren.mp4")
    else:
        shutil.rmtree(directory)
    proc.send_signal(signal.SIGINT)
    code = proc.wait(FINISH_TIMEOUT_S)
    err = proc.stderr.read().decode() if proc.stderr else ""
    assert code == 1, err
    assert "no playable video frames" not in err
    if how == "renamed":
        assert str(directory / "ren.mp4") in err and "renamed" in err, err
        assert ffprobe(directory / "ren.mp4").frames > 0
    else:
        assert "deleted" in err, err


# -- 10. recover: a torn final packet, a full disk ---------------------------------------------


def decode_errors(path: Path) -> str:
    return subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-f", "null", "-"],
                          capture_output=True, text=True, timeout=FINISH_TIMEOUT_S).stderr


def test_recover_drops_a_torn_final_packet(run_caprec: RunCaprec, tmp_path: Path) -> None:
    out = fragmented_video(tmp_path / "x.mp4", 3)
    tear(out)
    done = run_caprec(["recover", str(out)], cwd=tmp_path, timeout=FINISH_TIMEOUT_S)
    assert done.returncode == 0, done.stderr
    assert decode_errors(out) == ""


def test_recover_on_a_full_disk_says_disk_full(run_caprec: RunCaprec, tmp_path: Path) -> None:
    with tmpfs(tmp_path / "disk", "2m") as disk:
        out = fragmented_video(disk / "x.mp4", 4)
        filler = disk / "filler"
        with contextlib.suppress(OSError), filler.open("wb") as handle:
            while True:
                handle.write(b"\0" * 4096)
                handle.flush()
        done = run_caprec(["recover", str(out)], cwd=tmp_path, timeout=FINISH_TIMEOUT_S)
        assert done.returncode == 4, done.stderr
        assert "disk" in done.stderr and "full" in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
        assert ffprobe(out).frames > 0


# -- 11. leftovers ----------------------------------------------------------------------------


def test_recover_removes_only_provable_leftovers(run_caprec: RunCaprec, shared: Path, attacker: Attacker) -> None:
    out = fragmented_video(shared / "x.mp4", 1)
    dead = [shared / f".x.mp4.{tag}-abcd{tag[:4]}{'.txt' if tag == 'concat' else '.mp4'}"
            for tag in ("remux", "join", "concat", "recover")]
    for path in dead:
        path.write_bytes(b"\0" * 1000)
    live = shared / ".x.mp4.remux-live0000.mp4"
    foreign = shared / ".x.mp4.join-other000.mp4"
    attacker.run("touch", str(foreign))
    unrelated = shared / ".y.mp4.remux-abcdefgh.mp4"
    unrelated.write_bytes(b"")
    with live.open("wb") as holder:
        fcntl.flock(holder, fcntl.LOCK_EX)  # a caprec that is still working on it
        done = run_caprec(["recover", str(out)], cwd=shared, timeout=FINISH_TIMEOUT_S)
    assert done.returncode == 0, done.stderr
    assert not any(path.exists() for path in dead)
    assert live.exists() and foreign.exists() and unrelated.exists()
    for path in dead:
        assert path.name in done.stdout, done.stdout


def test_a_helper_ffmpeg_dies_with_caprec(tmp_path: Path) -> None:
    code = ("from caprec.capture.ffmpeg.process import run_tool\n"
            "run_tool(['ffmpeg', '-nostdin', '-v', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc', '-t', '60',"
            " '-f', 'null', '-'], timeout=120)\n")
    parent = subprocess.Popen([sys.executable, "-c", code])
    try:
        helper = wait_until(lambda: children_of(parent.pid), START_TIMEOUT_S, message="the helper ffmpeg")[0]
        parent.send_signal(signal.SIGKILL)
        parent.wait(FINISH_TIMEOUT_S)
        wait_until(lambda: process_gone(helper), 10.0, message="the helper ffmpeg to die with its parent")
    finally:
        kill_if_running(parent)
