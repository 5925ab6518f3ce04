"""What the real ffprobe reads back from a video: frames (counted by decoding), duration, codec, size."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

FFPROBE_TIMEOUT_S = 60.0


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
