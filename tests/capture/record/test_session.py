"""Sessions with real ffmpeg: pause/resume segments, studio bundles, audio, the cursor timeline.

The tests drive pause, resume and stop from the stats callback (frame counts
and paused ticks), so they are deterministic without sleeps: each toggle
happens at a known point of the recording.
"""

from __future__ import annotations

import json
import signal
import subprocess
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from caprec.capture.cursor.format import CursorContext, Region
from caprec.capture.cursor.listener import CursorSidecar
from caprec.capture.cursor.reader import read_cursor_log
from caprec.capture.cursor.writer import CursorWriter
from caprec.capture.ffmpeg.argv import STATS_PERIOD_S, AudioBackend, AudioSource, Backend, Encoding, VideoSource
from caprec.capture.ffmpeg.binary import find_ffmpeg
from caprec.capture.ffmpeg.finish import join_checked
from caprec.capture.ffmpeg.process import ManagedProcess
from caprec.capture.record.segment import UNWATCHED_STATS_PERIOD_S, Recorder, RecordingStats, StopControl, Target
from caprec.capture.record.session import CursorSpec, Mode, Session, SessionSpec, part_path
from support.media import ffprobe
from support.mp4 import mp4_top_level_boxes
from support.polling import wait_until
from support.run import SpawnCaprec

FPS = 30
TEST_SIZE = "320x240"
PAUSE_AT_FRAME = 30  # segment 1: about 1 s
PAUSED_TICKS = 4  # paused snapshots come every 0.25 s: about 1 s of pause
STOP_AT_FRAME = 75  # frames over both segments
DURATION_SLACK_S = 0.1
START_TIMEOUT_S = 20.0
FINISH_TIMEOUT_S = 30.0
BACKSTOP_S = 20.0


@dataclass
class Driver:
    """Pauses at a frame, resumes after some paused ticks, stops at a frame; records what it saw."""

    stop: StopControl
    pause_at: int = PAUSE_AT_FRAME
    stop_at: int | None = STOP_AT_FRAME
    paused_ticks: int = 0
    phase: str = "recording"
    seen: list[RecordingStats] = field(default_factory=list)
    on_resume: Callable[[], None] | None = None

    def __call__(self, stats: RecordingStats) -> None:
        self.seen.append(stats)
        frames = stats.progress.frame
        if self.phase == "recording" and frames >= self.pause_at:
            self.phase = "pausing"
            self.stop.toggle_pause()
        elif self.phase == "pausing" and stats.paused:
            self.paused_ticks += 1
            if self.paused_ticks >= PAUSED_TICKS:
                self.phase = "resumed"
                self.stop.toggle_pause()
        elif self.phase == "resumed" and not stats.paused and stats.segment == 2:
            if self.on_resume is not None and stats.started:
                self.on_resume()
                self.on_resume = None
            if self.stop_at is not None and frames >= self.stop_at:
                self.phase = "stopping"
                self.stop.request()


@pytest.fixture(scope="module")
def recorder() -> Recorder:
    return Recorder(find_ffmpeg())


def pattern() -> VideoSource:
    return VideoSource(backend=Backend.LAVFI, fps=FPS, device=TEST_SIZE)


def audio_duration(path: Path) -> float:
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries",
                          "stream=codec_name,duration", "-of", "json", str(path)],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    streams = json.loads(out)["streams"]
    assert streams and streams[0]["codec_name"] == "aac", f"no AAC stream in {path}: {out}"
    return float(streams[0]["duration"])


def test_instant_pause_leaves_paused_time_out_of_one_joined_mp4(recorder: Recorder, tmp_path: Path) -> None:
    output = tmp_path / "talk.mp4"
    stop = StopControl()
    driver = Driver(stop)
    result = Session(recorder).run(SessionSpec(mode=Mode.INSTANT, source=pattern(), encoding=Encoding(),
                                               output=output), stop=stop, on_stats=driver)
    assert result.error is None and result.status == "complete"
    assert driver.paused_ticks >= PAUSED_TICKS  # the pause really happened
    assert [s.index for s in result.segments] == [1, 2]
    first, second = result.segments
    assert second.start_s == pytest.approx(first.duration_s)
    probe = ffprobe(output)
    assert probe.frames == first.frames + second.frames
    # The joined file lasts as long as the two segments, not the wall time with the pause.
    assert probe.duration == pytest.approx(first.duration_s + second.duration_s, abs=DURATION_SLACK_S)
    paused_s = PAUSED_TICKS * 0.25
    assert probe.duration is not None and probe.duration < result.stats.elapsed_s + paused_s
    assert mp4_top_level_boxes(output).index("moov") < mp4_top_level_boxes(output).index("mdat")
    assert not part_path(output, 2).exists()  # joined and removed
    assert any(s.paused for s in driver.seen)


def test_studio_bundle_with_audio_and_a_pause(recorder: Recorder, tmp_path: Path) -> None:
    bundle = tmp_path / "talk.caprec"
    stop = StopControl()
    manifests: list[dict[str, Any]] = []

    def peek(stats: RecordingStats) -> None:
        if stats.started and not manifests:
            manifests.append(tomllib.loads((bundle / "recording.toml").read_text()))
        driver(stats)

    driver = Driver(stop)
    spec = SessionSpec(mode=Mode.STUDIO, source=pattern(), encoding=Encoding(), output=bundle,
                       audio=AudioSource(AudioBackend.TEST))
    result = Session(recorder).run(spec, stop=stop, on_stats=peek)
    assert result.error is None, result.error
    # While recording, the manifest already says so (what `caprec recover` reads after a crash).
    assert manifests[0]["status"] == "recording"
    assert manifests[0]["segments"][0]["status"] == "recording"

    manifest = tomllib.loads((bundle / "recording.toml").read_text())
    assert manifest["format"] == "caprec-studio" and manifest["status"] == "complete"
    assert manifest["mode"] == "studio" and manifest["audio"] == "test" and manifest["fps"] == FPS
    segments = manifest["segments"]
    assert [s["index"] for s in segments] == [1, 2]
    assert segments[1]["start"] == pytest.approx(segments[0]["duration"], abs=1e-6)
    for segment in segments:
        video = bundle / segment["display"]
        audio = bundle / segment["audio"]
        assert segment["display"] == f"segments/{segment['index']}/display.mp4"
        probe = ffprobe(video)
        assert probe.codec == "h264" and probe.frames == segment["frames"] > 0
        assert probe.duration == pytest.approx(segment["duration"], abs=DURATION_SLACK_S)
        # Audio in its own file, in sync with the video track.
        assert audio_duration(audio) == pytest.approx(probe.duration, abs=DURATION_SLACK_S)
        assert mp4_top_level_boxes(video).index("moov") < mp4_top_level_boxes(video).index("mdat")
    assert manifest["stats"]["frames"] == sum(s["frames"] for s in segments)


def test_instant_audio_is_muxed_in_sync(recorder: Recorder, tmp_path: Path) -> None:
    output = tmp_path / "tone.mp4"
    spec = SessionSpec(mode=Mode.INSTANT, source=pattern(), encoding=Encoding(duration=2.0), output=output,
                       audio=AudioSource(AudioBackend.TEST))
    result = Session(recorder).run(spec)
    assert result.error is None
    video = ffprobe(output)
    assert video.frames == pytest.approx(2 * FPS, abs=2)
    assert audio_duration(output) == pytest.approx(video.duration, abs=DURATION_SLACK_S)


class QuietListener:
    """A pynput-shaped listener that never sees a real mouse: the test feeds the writer itself."""

    def __init__(self, **callbacks: Any) -> None:
        self.callbacks = callbacks

    def start(self) -> None:
        return None

    def stop(self) -> None:
        return None

    def join(self, timeout: float | None = None) -> None:
        return None


def test_cursor_log_pauses_with_the_video(recorder: Recorder, tmp_path: Path) -> None:
    output = tmp_path / "talk.mp4"
    log = tmp_path / "talk.cursor.ndjson"
    context = CursorContext(caprec_version="test", source="lavfi", region=Region(0, 0, 320, 240),
                            screen_width=320, screen_height=240, fps=FPS)
    writers: list[CursorWriter] = []

    def factory(spec: CursorSpec, warn: Callable[[str], None]) -> CursorSidecar:
        writer = CursorWriter(spec.path, spec.context, flush_interval=spec.flush_interval)
        writers.append(writer)
        return CursorSidecar(writer, listener_factory=QuietListener)

    stop = StopControl()
    marks: dict[str, float] = {}

    def move_now(name: str, x: int) -> Callable[[], None]:
        def move() -> None:
            writers[0].on_move(x, 10)
            marks[name] = x
        return move

    driver = Driver(stop, on_resume=move_now("after", 200))

    def feed(stats: RecordingStats) -> None:
        if stats.started and stats.segment == 1 and not stats.paused and "before" not in marks:
            move_now("before", 100)()
        if stats.paused and "during" not in marks:
            move_now("during", 300)()  # paused: not in the video, so not in the log
        driver(stats)

    spec = SessionSpec(mode=Mode.INSTANT, source=pattern(), encoding=Encoding(), output=output,
                       cursor=CursorSpec(path=log, context=context, flush_interval=0.2))
    result = Session(recorder, cursor_factory=factory).run(spec, stop=stop, on_stats=feed)
    assert result.error is None
    first, second = result.segments
    events = read_cursor_log(log).events
    xs = [event["x"] for event in events]
    assert xs == [100, 200]  # the move made while paused is gone
    before, after = events
    assert 0 <= before["t"] <= first.duration_s * 1000
    # The move after resuming sits in the second segment of the joined timeline.
    assert first.duration_s * 1000 <= after["t"] <= (first.duration_s + second.duration_s) * 1000
    assert result.cursor is not None and result.cursor.moves == 2


def read_stats(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())  # replaced atomically: never torn
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def test_sigusr1_pauses_and_resumes_a_cli_recording(spawn_caprec: SpawnCaprec, tmp_path: Path) -> None:
    output = tmp_path / "clip.mp4"
    stats_file = tmp_path / "stats.json"
    proc = spawn_caprec(["record", "--source", "test", "-o", str(output), "--stats-file", str(stats_file),
                         "--quiet"], cwd=tmp_path)

    def stats_where(check: Callable[[dict[str, Any]], bool]) -> dict[str, Any] | None:
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        stats = read_stats(stats_file)
        return stats if stats is not None and check(stats) else None

    wait_until(lambda: stats_where(lambda s: (s.get("frames") or 0) >= PAUSE_AT_FRAME), START_TIMEOUT_S,
               message="the first frames")
    proc.send_signal(signal.SIGUSR1)
    paused = wait_until(lambda: stats_where(lambda s: s.get("paused") is True), START_TIMEOUT_S,
                        message="the paused state in the stats file")
    assert paused["status"] == "paused"
    proc.send_signal(signal.SIGUSR1)
    wait_until(lambda: stats_where(lambda s: s.get("paused") is False
                                   and (s.get("frames") or 0) >= paused["frames"] + PAUSE_AT_FRAME),
               START_TIMEOUT_S, message="frames after resuming")
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=FINISH_TIMEOUT_S) == 0
    final = read_stats(stats_file)
    assert final is not None and final["status"] == "complete"
    probe = ffprobe(output)
    assert probe.codec == "h264" and probe.frames >= paused["frames"] + PAUSE_AT_FRAME
    assert not part_path(output, 2).exists()


def test_join_handles_quotes_and_spaces_in_paths(recorder: Recorder, tmp_path: Path) -> None:
    folder = tmp_path / "it's a 'folder' with spaces"
    folder.mkdir()
    parts = [folder / "a'1.mp4", folder / "b 2.mp4"]
    for part in parts:
        result = Session(recorder).run(SessionSpec(mode=Mode.INSTANT, source=pattern(),
                                                   encoding=Encoding(duration=1.0), output=part))
        assert result.error is None
    check, failure = join_checked(parts, parts[0], ffmpeg_path=recorder.ffmpeg.path)
    assert failure is None and check is not None
    assert ffprobe(parts[0]).frames == pytest.approx(2 * FPS, abs=2) == check.frames
    assert sorted(p.name for p in folder.iterdir()) == ["a'1.mp4", "b 2.mp4"]  # no temp file left


def test_paused_stats_are_totals_over_every_segment(recorder: Recorder, tmp_path: Path) -> None:
    """Issue 9 item 16: paused a second time, size and bitrate cover both segments, not the last one."""
    stop = StopControl()
    pauses: list[RecordingStats] = []
    state = {"phase": "first", "ticks": 0}

    def drive(stats: RecordingStats) -> None:
        phase = state["phase"]
        if stats.paused:
            state["ticks"] = int(state["ticks"]) + 1
            if int(state["ticks"]) == 2:
                pauses.append(stats)
                if phase == "paused-1":
                    state["phase"] = "second"
                    stop.toggle_pause()
                else:
                    stop.request()
            return
        state["ticks"] = 0
        if phase == "first" and stats.progress.frame >= PAUSE_AT_FRAME:
            state["phase"] = "paused-1"
            stop.toggle_pause()
        elif phase == "second" and stats.segment == 2 and stats.progress.frame >= 2 * PAUSE_AT_FRAME:
            state["phase"] = "paused-2"
            stop.toggle_pause()

    result = Session(recorder).run(SessionSpec(mode=Mode.INSTANT, source=pattern(), encoding=Encoding(),
                                               output=tmp_path / "twice.mp4"), stop=stop, on_stats=drive)
    assert result.error is None and len(pauses) == 2, (result.error, pauses)
    first, second = pauses
    # Two segments of about the same length: the second pause shows about twice the first's size.
    assert second.bytes >= 1.6 * first.bytes, (first.bytes, second.bytes)
    for paused in pauses:
        expected = paused.bytes * 8 / paused.elapsed_s / 1000
        assert paused.progress.bitrate_kbps == pytest.approx(expected, rel=0.01)


def test_the_cursor_sidecar_starts_once_ffmpeg_is_spawned(tmp_path: Path) -> None:
    """pynput's import and connection ran before FFmpeg's spawn and held the interpreter: the first frame came later."""
    order: list[str] = []

    class Spawned(ManagedProcess):
        def start(self) -> None:
            super().start()
            order.append("ffmpeg")

    class Listener(QuietListener):
        def start(self) -> None:
            order.append("cursor")

    def factory(spec: CursorSpec, warn: Callable[[str], None]) -> CursorSidecar:
        return CursorSidecar(CursorWriter(spec.path, spec.context, flush_interval=spec.flush_interval),
                             listener_factory=Listener)

    context = CursorContext(caprec_version="test", source="lavfi", region=Region(0, 0, 320, 240),
                            screen_width=320, screen_height=240, fps=FPS)
    spec = SessionSpec(mode=Mode.INSTANT, source=pattern(), encoding=Encoding(duration=0.5),
                       output=tmp_path / "short.mp4",
                       cursor=CursorSpec(path=tmp_path / "short.cursor.ndjson", context=context, flush_interval=0.2))
    result = Session(Recorder(find_ffmpeg(), process_factory=Spawned), cursor_factory=factory).run(spec)
    assert result.error is None and result.cursor is not None
    assert order == ["ffmpeg", "cursor"]


@pytest.mark.parametrize("mode", [Mode.INSTANT, Mode.STUDIO])
def test_a_stop_right_after_a_resume_keeps_the_recording(tmp_path: Path, mode: Mode) -> None:
    """Ctrl-C in the moment after a resume, before that segment's first frame: the recording is what came before.

    It was "error: NAME.part-2.mp4 has no playable video frames" and a failure, for a file that played.
    """
    output = tmp_path / ("talk.caprec" if mode is Mode.STUDIO else "talk.mp4")
    stop = StopControl()
    spawned: list[str] = []

    class StopOnSecondSpawn(ManagedProcess):
        """The stop arrives the moment the second segment's FFmpeg is spawned, long before its first frame."""

        def start(self) -> None:
            super().start()
            spawned.append("ffmpeg")
            if len(spawned) == 2:
                stop.request()

    driver = Driver(stop, stop_at=None)
    # The duration is a backstop only: the stop comes with the second segment.
    spec = SessionSpec(mode=mode, source=pattern(), encoding=Encoding(duration=BACKSTOP_S), output=output)
    result = Session(Recorder(find_ffmpeg(), process_factory=StopOnSecondSpawn)).run(spec, stop=stop,
                                                                                    on_stats=driver)
    assert len(spawned) == 2 and driver.paused_ticks >= PAUSED_TICKS
    assert result.error is None and result.status == "complete", result.error
    assert [s.index for s in result.segments] == [1]
    video = output / "segments/1/display.mp4" if mode is Mode.STUDIO else output
    assert ffprobe(video).frames == result.segments[0].frames >= PAUSE_AT_FRAME
    if mode is Mode.STUDIO:
        assert sorted(p.name for p in (output / "segments").iterdir()) == ["1"]
        assert [s["index"] for s in tomllib.loads((output / "recording.toml").read_text())["segments"]] == [1]
    else:
        assert sorted(p.name for p in tmp_path.iterdir()) == ["talk.mp4"]


def test_ffmpeg_reports_progress_half_as_often_when_no_one_reads_the_stats(tmp_path: Path) -> None:
    """Without ``on_stats`` FFmpeg's progress serves only the stall check: a block a second, not two."""
    spawned: list[list[str]] = []

    class Spawned(ManagedProcess):
        def start(self) -> None:
            spawned.append(self.argv)
            super().start()

    recorder = Recorder(find_ffmpeg(), process_factory=Spawned)
    seen: list[RecordingStats] = []
    watched = recorder.record(pattern(), Encoding(duration=1.5), Target(path=tmp_path / "watched.mp4"),
                              on_stats=seen.append)
    unwatched = recorder.record(pattern(), Encoding(duration=1.5), Target(path=tmp_path / "unwatched.mp4"))
    periods = [argv[argv.index("-stats_period") + 1] for argv in spawned]
    assert periods == [f"{STATS_PERIOD_S:g}", f"{UNWATCHED_STATS_PERIOD_S:g}"]
    assert seen and seen[-1].progress.frame > 0
    for result in (watched, unwatched):
        assert result.error is None and result.media is not None
        assert result.media.frames == round(1.5 * FPS)
        assert result.stats.progress.frame == round(1.5 * FPS)
