"""The replay engine (ReplaySession) with real ffmpeg, unpaced: a save long after the ring has wrapped.

The test pattern and tone run without ``-re``, so a minute of timeline takes a few seconds of wall time.
The pattern is deterministic and so is x264: a plain recording of the same source is the ground truth, and
every frame of a clip must be the matching frame of that recording (``framemd5``), which says exactly which
seconds of the timeline the clip holds. (In real time through the CLI: tests/e2e/test_replay_e2e.py.)
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest
from caprec.capture.ffmpeg.argv import AudioBackend, AudioSource, Backend, Encoding, VideoSource
from caprec.capture.ffmpeg.binary import find_ffmpeg
from caprec.capture.record.results import Status
from caprec.capture.record.segment import Recorder, RecordingStats, StopControl, Target
from caprec.capture.replay.save import ClipPattern, SavedClip
from caprec.capture.replay.session import ReplaySession, ReplaySpec, SaveControl, SaveOutcome
from support.clips import assert_good_clip, frame_hashes

pytestmark = [pytest.mark.slow, pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")]

FPS = 30
SIZE = "320x240"
WINDOW_S = 10
SAVE_AT_S = 40  # the "save at 40 s" with --replay 10s: the ring has dropped 30 s by then
# Unpaced, FFmpeg's progress comes every 0.5 s of wall time, some seconds of timeline apart: the save is asked
# for at the first block past SAVE_AT_S and the recording stopped once it is written. This only bounds a run
# whose stop went unheard.
BACKSTOP_S = 120
# A clip holds N to N + one fragment (one keyframe interval, 1 s).
FRAGMENT_S = 1.0
SLACK_S = 0.05
# FFmpeg's progress block counts frames it has encoded; the ring has them once their fragment is complete and
# through the pipe: up to a fragment, and the one being filled, behind.
PUMP_LAG_S = 2 * FRAGMENT_S


def pattern() -> VideoSource:
    return VideoSource(backend=Backend.LAVFI, fps=FPS, device=SIZE, realtime=False)


def tone() -> AudioSource:
    return AudioSource(AudioBackend.TEST, realtime=False)


def span_in(reference: list[str], clip: Path) -> tuple[float, float]:
    """Where ``clip`` sits on the recording's timeline (start and end, seconds): its frames, every one of them,
    are a run of consecutive frames of ``reference``."""
    hashes = frame_hashes(clip)
    assert hashes and hashes[0] in reference, f"{clip.name}'s first frame is not a frame of the recording"
    first = reference.index(hashes[0])
    assert reference[first:first + len(hashes)] == hashes, f"{clip.name} is not a run of the recording's frames"
    return first / FPS, (first + len(hashes)) / FPS


def saved(clip: SavedClip | None) -> Path:
    assert clip is not None
    return clip.path


def test_a_save_at_40_s_of_a_10_s_buffer_holds_its_last_seconds(tmp_path: Path) -> None:
    recorder = Recorder(find_ffmpeg())
    clips = tmp_path / "clips"
    clips.mkdir()
    saves = SaveControl()
    stop = StopControl()
    asked_at: list[float] = []

    def save_at_40_s(stats: RecordingStats) -> None:
        if not asked_at and stats.progress.frame >= SAVE_AT_S * FPS:
            asked_at.append(stats.progress.frame / FPS)
            saves.request()

    def stop_once_saved(outcome: SaveOutcome) -> None:
        stop.request()  # the recording went on while the clip was written; the exit save comes next

    spec = ReplaySpec(source=pattern(), encoding=Encoding(duration=BACKSTOP_S), window_s=WINDOW_S,
                      pattern=ClipPattern(clips, "late"), audio=tone(), save_on_exit=True)
    result = ReplaySession(recorder).run(spec, stop=stop, saves=saves, on_saved=stop_once_saved,
                                         on_stats=save_at_40_s)
    assert result.recording.status is Status.COMPLETE, result.recording.error
    assert asked_at, "no progress block past 40 s"
    assert [outcome.error for outcome in result.saves] == [None, None]
    asked, on_exit = result.saves
    assert not asked.on_exit and on_exit.on_exit
    # The ring never held more than the window: a minute or more went through it, 10 s (and a fragment) stayed.
    assert result.buffer.seconds <= WINDOW_S + FRAGMENT_S + SLACK_S and result.buffer.dropped_for_memory == 0
    recorded = result.recording.stats.progress.frame

    # The same source recorded plainly, at least as long: the ground truth of every frame.
    full = tmp_path / "full.mp4"
    plain = recorder.record(pattern(), Encoding(duration=math.ceil(recorded / FPS) + FRAGMENT_S), Target(path=full))
    assert plain.status is Status.COMPLETE, plain.error
    reference = frame_hashes(full)
    assert len(reference) >= recorded and len(set(reference)) == len(reference)  # every frame tells its time

    # Asked for at 40 s or later: the last 10-11 s before the request, whole, starting on a keyframe, with the
    # audio in sync; nothing from the first 30 s.
    clip = saved(asked.clip)
    length = assert_good_clip(clip, audio=True)
    assert WINDOW_S - SLACK_S <= length <= WINDOW_S + FRAGMENT_S + SLACK_S, length
    start, end = span_in(reference, clip)
    assert end - start == pytest.approx(length, abs=1 / FPS)
    assert end >= asked_at[0] - PUMP_LAG_S, (start, end, asked_at)
    assert start >= SAVE_AT_S - WINDOW_S - PUMP_LAG_S, (start, end)

    # At the end (--save-on-exit): the recording's very last frames, after those of the first clip.
    last = saved(on_exit.clip)
    length = assert_good_clip(last, audio=True)
    assert WINDOW_S - SLACK_S <= length <= WINDOW_S + FRAGMENT_S + SLACK_S, length
    later_start, later_end = span_in(reference, last)
    assert later_end * FPS == pytest.approx(recorded) and later_end > end, (later_start, later_end, recorded)
    assert sorted(p.name for p in clips.iterdir()) == sorted([clip.name, last.name])  # no temporary left
