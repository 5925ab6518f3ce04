"""Replay clips read back the way a user would: ffprobe's streams, the first frame, a full decode, frame hashes.

Shared by the replay buffer's end-to-end tests (tests/e2e/test_replay_e2e.py) and its engine tests
(tests/capture/replay/).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from support.mp4 import mp4_top_level_boxes

AV_SYNC_S = 0.05
"""Audio and video of a clip end together within this."""
PROBE_TIMEOUT_S = 60.0
DECODE_TIMEOUT_S = 120.0


def stream_durations(path: Path) -> dict[str, float]:
    """Each stream's duration by its type (``video``, ``audio``)."""
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_type,duration", "-of", "json",
                          str(path)], capture_output=True, text=True, check=True, timeout=PROBE_TIMEOUT_S).stdout
    return {s["codec_type"]: float(s["duration"]) for s in json.loads(out)["streams"]}


def first_frame(path: Path) -> dict[str, object]:
    """ffprobe's ``key_frame`` and ``pict_type`` of the first video frame."""
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_frames", "-read_intervals",
                          "%+#1", "-show_entries", "frame=key_frame,pict_type", "-of", "json", str(path)],
                         capture_output=True, text=True, check=True, timeout=PROBE_TIMEOUT_S).stdout
    frames: list[dict[str, object]] = json.loads(out)["frames"]
    return frames[0]


def frame_hashes(path: Path) -> list[str]:
    """The MD5 of every decoded video frame, in order (``-f framemd5``)."""
    out = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:v:0", "-f", "framemd5", "-"],
                         capture_output=True, text=True, check=True, timeout=DECODE_TIMEOUT_S).stdout
    return [line.rsplit(",", 1)[1].strip() for line in out.splitlines() if line and not line.startswith("#")]


def assert_good_clip(path: Path, *, audio: bool) -> float:
    """A finished, playable clip that starts on a keyframe; returns its video duration."""
    boxes = mp4_top_level_boxes(path)
    assert "moof" not in boxes and boxes.index("moov") < boxes.index("mdat"), boxes
    frame = first_frame(path)
    assert frame["key_frame"] == 1 and frame["pict_type"] == "I", frame
    decoded = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-f", "null", "-"], capture_output=True,
                             text=True, timeout=DECODE_TIMEOUT_S, check=False)
    assert decoded.returncode == 0 and decoded.stderr.strip() == "", decoded.stderr
    durations = stream_durations(path)
    if audio:
        assert abs(durations["audio"] - durations["video"]) <= AV_SYNC_S, durations
    else:
        assert "audio" not in durations
    return durations["video"]
