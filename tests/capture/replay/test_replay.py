"""The replay buffer's parts on a real fragmented MP4 made by ffmpeg: the ring, the save, the cursor ring,
the runtime files. (End to end through the CLI: tests/e2e/test_replay_e2e.py.)"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from caprec.capture.replay.cursor import CursorRing
from caprec.capture.replay.ring import MIN_FRAGMENTS, ReplayBuffer
from caprec.capture.replay.runtime import RuntimeDirError, RuntimeFile, find_recorders, runtime_dir
from caprec.capture.replay.save import ClipPattern, save_clip
from support.media import ffprobe, ffprobe_bytes
from support.mp4 import mp4_top_level_boxes
from support.windows import windows_fsync

STREAM_S = 12
FPS = 30
WHEN = datetime(2026, 1, 2, 3, 4, 5)
MAX_CHUNK = 200_000

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")


@pytest.fixture(scope="module")
def stream(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """12 s of fragmented MP4 with audio, exactly as caprec asks ffmpeg for it (one keyframe a second)."""
    path = tmp_path_factory.mktemp("replay") / "stream.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", f"testsrc2=size=320x240:rate={FPS}",
                    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", str(STREAM_S),
                    "-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-g", str(FPS),
                    "-pix_fmt", "yuv420p", "-c:a", "aac", "-f", "mp4",
                    "-movflags", "+frag_keyframe+empty_moov+default_base_moof", str(path)], check=True, timeout=120)
    return path.read_bytes()


def feed(buffer: ReplayBuffer, data: bytes, *, seed: int = 1) -> None:
    """Write ``data`` in random read sizes, as the pump would."""
    chooser = random.Random(seed)
    offset = 0
    while offset < len(data):
        size = chooser.randint(1, MAX_CHUNK)
        buffer.write(memoryview(data[offset:offset + size]))
        offset += size


def test_the_ring_keeps_the_window_in_whole_keyframe_fragments(stream: bytes) -> None:
    buffer = ReplayBuffer(window_s=5)
    feed(buffer, stream)
    held = buffer.stats()
    assert 5.0 <= held.seconds <= 6.0 + 1e-6, held
    clip = buffer.snapshot()
    assert clip is not None
    assert clip.fragments[0].keyframe
    assert 5.0 <= clip.duration_s <= 6.0 + 1e-6
    assert clip.end_s == pytest.approx(STREAM_S, abs=0.1)
    assert not clip.memory_limited
    probe = ffprobe_bytes(b"".join(clip.chunks()))
    assert probe.frames == clip.frames == round(clip.duration_s * FPS)


def test_a_shorter_save_and_one_longer_than_what_exists(stream: bytes) -> None:
    buffer = ReplayBuffer(window_s=60)
    feed(buffer, stream[: len(stream) // 2], seed=2)
    clip = buffer.snapshot()
    assert clip is not None and clip.start_s == 0.0  # everything so far
    assert clip.duration_s < 60 and not clip.memory_limited
    feed(buffer, stream[len(stream) // 2:], seed=3)
    short = buffer.snapshot(2)
    assert short is not None and 2.0 <= short.duration_s <= 3.0 + 1e-6


def test_the_memory_bound_drops_the_oldest_and_says_so(stream: bytes) -> None:
    buffer = ReplayBuffer(window_s=10, max_bytes=len(stream) // 4)
    feed(buffer, stream, seed=4)
    held = buffer.stats()
    assert held.bytes <= len(stream) // 4 or held.fragments == MIN_FRAGMENTS
    assert held.dropped_for_memory > 0
    clip = buffer.snapshot()
    assert clip is not None and clip.memory_limited and clip.duration_s < 10
    assert clip.fragments[0].keyframe


def test_the_memory_bound_never_goes_below_two_fragments(stream: bytes) -> None:
    buffer = ReplayBuffer(window_s=10, max_bytes=1)
    feed(buffer, stream, seed=5)
    assert buffer.stats().fragments == MIN_FRAGMENTS
    clip = buffer.snapshot()
    assert clip is not None and ffprobe_bytes(b"".join(clip.chunks())).frames == clip.frames


def test_nothing_to_save_before_the_first_fragment(stream: bytes) -> None:
    buffer = ReplayBuffer(window_s=5)
    buffer.write(memoryview(stream[:500]))
    assert buffer.snapshot() is None


def test_a_saved_clip_is_a_regular_mp4_with_every_frame_and_a_fresh_name(stream: bytes, tmp_path: Path) -> None:
    buffer = ReplayBuffer(window_s=4)
    feed(buffer, stream, seed=6)
    clip = buffer.snapshot()
    assert clip is not None
    pattern = ClipPattern(tmp_path, "game")
    first = save_clip(clip, pattern, ffmpeg_path="ffmpeg", when=WHEN)
    assert first.path == tmp_path / "game-20260102-030405.mp4"
    boxes = mp4_top_level_boxes(first.path)
    assert "moof" not in boxes and boxes.index("moov") < boxes.index("mdat")
    assert ffprobe(first.path).frames == clip.frames
    # The same second again: a suffix, never the same file; a symlink in the way is not followed.
    victim = tmp_path / "victim"
    victim.write_bytes(b"keep")
    (tmp_path / "game-20260102-030405-2.mp4").symlink_to(victim)
    second = save_clip(clip, pattern, ffmpeg_path="ffmpeg", when=WHEN, cursor_log=b'{"format":"caprec-cursor"}\n')
    assert second.path == tmp_path / "game-20260102-030405-3.mp4"
    assert second.cursor == tmp_path / "game-20260102-030405-3.cursor.ndjson"
    assert victim.read_bytes() == b"keep"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temporary left


def _line(t: float, x: int) -> bytes:
    return b'{"t":%.1f,"type":"move","x":%d,"y":0,"nx":0.00000,"ny":0.00000}\n' % (t, x)


def test_the_cursor_ring_forgets_with_the_video_and_slices_rebased() -> None:
    ring = CursorRing()
    header = {"format": "caprec-cursor", "version": "1.0", "first_frame_wall": 1000.0, "first_frame_utc": "x"}
    data = (json.dumps(header) + "\n").encode() + b"".join(_line(t * 100.0, t) for t in range(100))
    ring.write(memoryview(data[:37]))  # a torn write: the rest follows
    ring.write(memoryview(data[37:]))
    assert len(ring) == 100
    ring.trim_before(5.0)  # 0 .. 4.9 s go
    assert len(ring) == 50
    clip = ring.slice(6.0, 8.0)
    assert clip is not None
    lines = clip.decode().splitlines()
    head = json.loads(lines[0])
    assert head["first_frame_wall"] == 1006.0 and head["first_frame_utc"].startswith("1970-01-01T00:16:46")
    events = [json.loads(line) for line in lines[1:]]
    assert [e["t"] for e in events] == [float(t * 100) for t in range(21)]
    assert events[0]["x"] == 60


def test_runtime_files_are_found_while_alive_and_stale_ones_removed(tmp_path: Path) -> None:
    directory = runtime_dir({"XDG_RUNTIME_DIR": str(tmp_path)})
    assert directory == tmp_path / "caprec" and (directory.stat().st_mode & 0o777) == 0o700
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        with RuntimeFile(pattern="clips/x-*.mp4", seconds=30, directory=directory, pid=sleeper.pid) as mine:
            assert [info.pid for info in find_recorders(directory)] == [sleeper.pid]
            assert (mine.path.stat().st_mode & 0o777) == 0o600
            sleeper.kill()
            sleeper.wait()
            assert find_recorders(directory) == []  # the process is gone: stale
            assert not mine.path.exists()
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_runtime_directory_others_can_write_is_refused(tmp_path: Path) -> None:
    shared = tmp_path / "caprec"
    shared.mkdir()
    os.chmod(shared, 0o777)
    with pytest.raises(RuntimeDirError, match="not a private directory"):
        runtime_dir({"XDG_RUNTIME_DIR": str(tmp_path)})


def test_a_windows_runtime_directory_is_checked_for_what_windows_has(tmp_path: Path) -> None:
    """Windows reports mode 0777 for every directory (its access list keeps the profile private): not refused."""
    shared = tmp_path / "caprec"
    shared.mkdir()
    os.chmod(shared, 0o777)
    assert runtime_dir({"XDG_RUNTIME_DIR": str(tmp_path)}, platform="win32") == shared
    linked = tmp_path / "linked"
    linked.mkdir()
    (linked / "caprec").symlink_to(shared, target_is_directory=True)
    with pytest.raises(RuntimeDirError, match="not a private directory"):
        runtime_dir({"XDG_RUNTIME_DIR": str(linked)}, platform="win32")  # still never through a link


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")
def test_a_clip_is_synced_the_way_windows_allows(stream: bytes, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The save synced through a read-only descriptor: on Windows every save failed with EBADF."""
    buffer = ReplayBuffer(window_s=3)
    feed(buffer, stream)
    clip = buffer.snapshot()
    assert clip is not None
    monkeypatch.setattr(os, "fsync", windows_fsync)
    saved = save_clip(clip, ClipPattern(tmp_path, "win"), ffmpeg_path="ffmpeg", when=WHEN)
    assert ffprobe(saved.path).frames == clip.frames


def test_where_clips_go_for_each_form_of_output(tmp_path: Path) -> None:
    from caprec.capture.errors import CaptureError
    from caprec.commands.replay import clip_pattern

    (tmp_path / "clips").mkdir()
    assert clip_pattern(str(tmp_path / "clips"), output_dir=None) == ClipPattern(tmp_path / "clips", "caprec")
    assert clip_pattern(str(tmp_path / "clips" / "game"), output_dir=None) == ClipPattern(tmp_path / "clips", "game")
    assert clip_pattern(str(tmp_path / "game.mp4"), output_dir=None) == ClipPattern(tmp_path, "game")
    assert clip_pattern(None, output_dir=tmp_path / "clips") == ClipPattern(tmp_path / "clips", "caprec")
    assert ClipPattern(tmp_path, "game").stem(WHEN, 2) == "game-20260102-030405-2"
    for bad in ("-", str(tmp_path / "game.mkv"), str(tmp_path / "missing" / "game")):
        with pytest.raises(CaptureError):
            clip_pattern(bad, output_dir=None)
