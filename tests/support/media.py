"""Videos in tests: made fast by the real ffmpeg (fragmented MP4 as caprec's recorder writes it, torn as a
SIGKILL leaves it) and read back by the real ffprobe (frames counted by decoding, duration, codec, size).
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from caprec.capture.ffmpeg.argv import FRAGMENTED_MP4_FLAGS
from caprec.capture.files.mp4boxes import read_layout

FFPROBE_TIMEOUT_S = 60.0
FFMPEG_TIMEOUT_S = 60.0
FPS = 30
"""The frame rate of the videos made here."""
SMALL = "320x240"


@dataclass(frozen=True)
class Probe:
    """What ffprobe reads back from a video: counted frames, duration, codec and size."""

    frames: int
    duration: float | None
    codec: str | None
    width: int | None
    height: int | None


def _probe_from_json(text: str) -> Probe:
    data = json.loads(text)
    streams = [s for s in data.get("streams", []) if s.get("codec_type") == "video"]
    if not streams:
        return Probe(frames=0, duration=None, codec=None, width=None, height=None)
    stream = streams[0]
    duration = data.get("format", {}).get("duration")
    frames = stream.get("nb_read_frames")
    return Probe(
        frames=int(frames) if frames not in (None, "N/A") else 0,
        duration=float(duration) if duration not in (None, "N/A") else None,
        codec=stream.get("codec_name"),
        width=stream.get("width"),
        height=stream.get("height"),
    )


FFPROBE_ARGS = ["-v", "error", "-count_frames", "-select_streams", "v:0",
                "-show_entries", "stream=codec_type,codec_name,width,height,nb_read_frames:format=duration",
                "-of", "json"]


def ffprobe(path: Path | str) -> Probe:
    """Decode every frame of ``path`` with the real ffprobe and report what it found."""
    result = subprocess.run(["ffprobe", *FFPROBE_ARGS, "-i", str(path)], capture_output=True, text=True,
                            timeout=FFPROBE_TIMEOUT_S, check=False)
    assert result.returncode == 0, f"ffprobe {path} failed: {result.stderr.strip()}"
    return _probe_from_json(result.stdout)


def ffprobe_bytes(data: bytes) -> Probe:
    """Like :func:`ffprobe`, reading the video from ffprobe's stdin (``pipe:0``)."""
    result = subprocess.run(["ffprobe", *FFPROBE_ARGS, "-i", "pipe:0"], input=data, capture_output=True,
                            timeout=FFPROBE_TIMEOUT_S, check=False)
    assert result.returncode == 0, f"ffprobe pipe:0 failed: {result.stderr.decode(errors='replace').strip()}"
    return _probe_from_json(result.stdout.decode())


def fragmented_video(path: Path, seconds: float, *, fps: int = FPS) -> Path:
    """A fragmented MP4 as caprec's recorder writes it (a keyframe and a fragment per second), fast."""
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-f", "lavfi", "-i", f"testsrc2=size={SMALL}:rate={fps}",
                    "-t", f"{seconds:g}", "-c:v", "libx264", "-preset", "ultrafast", "-g", str(fps),
                    "-pix_fmt", "yuv420p", "-f", "mp4", "-movflags", FRAGMENTED_MP4_FLAGS, "-y", str(path)],
                   check=True, timeout=FFMPEG_TIMEOUT_S)
    return path


def fragmented_audio(path: Path, seconds: float) -> Path:
    """A fragmented MP4 of a 440 Hz tone (AAC, 48 kHz), as caprec writes a separate audio input."""
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
                    "-t", f"{seconds:g}", "-c:a", "aac", "-f", "mp4", "-movflags", FRAGMENTED_MP4_FLAGS, "-y",
                    str(path)], check=True, timeout=FFMPEG_TIMEOUT_S)
    return path


def no_frames_video(path: Path) -> Path:
    """What ffmpeg leaves when it dies before its first frame: a header and no fragment."""
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-f", "lavfi", "-i", f"testsrc2=size={SMALL}:rate={FPS}",
                    "-frames:v", "0", "-c:v", "libx264", "-f", "mp4", "-movflags", FRAGMENTED_MP4_FLAGS, "-y",
                    str(path)], check=True, timeout=FFMPEG_TIMEOUT_S)
    return path


def tear(path: Path, cut: int = 3000) -> None:
    """Cut the end off the last fragment, as a write interrupted by SIGKILL leaves it."""
    os.truncate(path, path.stat().st_size - cut)
    assert read_layout(path).torn
