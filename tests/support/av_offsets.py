"""A/V offsets of a recording of ``av_signal.py``: each flash (video) paired with its beep (audio).

A flash is the first frame whose mean brightness passes half scale; its time is the frame's timestamp. The
screen is grabbed every 1/fps, so that frame was grabbed 0 to 1 frame interval after the flash was drawn:
the video onset is corrected by half a frame interval (the bias's mean; what is left is within +-half a
frame). A beep is the first 1 ms block whose peak passes half the track's peak. The offset is
audio - video: positive when the sound comes late.
"""

from __future__ import annotations

import json
import statistics
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SAMPLE_RATE = 48000
BLOCK_S = 0.001
MIN_GAP_S = 0.25  # onsets closer than this belong to the same flash or beep
DECODE_TIMEOUT_S = 120.0
GRAY_SIZE = (64, 48)  # frames are scaled down to this before their brightness is taken


@dataclass(frozen=True)
class Offsets:
    """The onsets found in one recording and audio - video (ms) for each flash paired with a beep."""

    flashes: list[float]
    beeps: list[float]
    offsets_ms: list[float]

    @property
    def median_ms(self) -> float:
        return statistics.median(self.offsets_ms)

    def summary(self) -> str:
        spread = f"{min(self.offsets_ms):+.1f}..{max(self.offsets_ms):+.1f}" if self.offsets_ms else "-"
        median = f"{self.median_ms:+.1f}" if self.offsets_ms else "-"
        return (f"{len(self.flashes)} flashes, {len(self.beeps)} beeps, {len(self.offsets_ms)} pairs: "
                f"median {median} ms, range {spread} ms")


def onsets(values: np.ndarray, times: np.ndarray, threshold: float) -> list[float]:
    """Times where ``values`` first rise above ``threshold``, at least ``MIN_GAP_S`` apart."""
    found: list[float] = []
    above = values > threshold
    for index in np.flatnonzero(above[1:] & ~above[:-1]) + 1:
        if not found or times[index] - found[-1] > MIN_GAP_S:
            found.append(float(times[index]))
    return found


def _run(argv: list[str]) -> bytes:
    return subprocess.run(argv, capture_output=True, check=True, timeout=DECODE_TIMEOUT_S).stdout


def flash_onsets(path: Path, *, fps: float) -> list[float]:
    """When each flash starts on the video timeline (seconds), corrected by half a frame interval."""
    probe = json.loads(_run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                             "frame=pts_time", "-of", "json", str(path)]))
    times = np.array([float(frame["pts_time"]) for frame in probe["frames"]])
    width, height = GRAY_SIZE
    raw = _run(["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:v:0", "-vf", f"scale={width}:{height}",
                "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "gray", "-"])
    brightness = np.frombuffer(raw, np.uint8).reshape(-1, height, width).mean(axis=(1, 2))
    count = min(len(times), len(brightness))
    return [t - 0.5 / fps for t in onsets(brightness[:count], times[:count], 128)]


def beep_onsets(path: Path, *, track: int = 0) -> list[float]:
    """When each beep starts on audio track ``track``'s timeline (seconds)."""
    start = json.loads(_run(["ffprobe", "-v", "error", "-select_streams", f"a:{track}", "-show_entries",
                             "stream=start_time", "-of", "json", str(path)]))["streams"][0].get("start_time", 0)
    raw = _run(["ffmpeg", "-v", "error", "-i", str(path), "-map", f"0:a:{track}", "-ac", "1", "-ar",
                str(SAMPLE_RATE), "-f", "f32le", "-"])
    samples = np.abs(np.frombuffer(raw, np.float32))
    block = round(SAMPLE_RATE * BLOCK_S)
    levels = samples[: len(samples) // block * block].reshape(-1, block).max(axis=1)
    if not len(levels) or levels.max() == 0:
        return []
    times = float(start) + np.arange(len(levels)) * BLOCK_S
    return onsets(levels, times, float(levels.max()) / 2)


def offsets(path: Path, *, fps: float, period: float, track: int = 0, sound: Path | None = None) -> Offsets:
    """Each flash paired with the nearest beep of ``track`` (closer than half the ``period``).

    ``sound``: the beeps are in this file (a studio bundle's ``audio-NAME.m4a``, on the video's timeline), not
    in ``path``.
    """
    flashes, beeps = flash_onsets(path, fps=fps), beep_onsets(path if sound is None else sound, track=track)
    pairs: list[float] = []
    for flash in flashes:
        nearest = min(beeps, key=lambda beep: abs(beep - flash), default=None)
        if nearest is not None and abs(nearest - flash) < period / 2:
            pairs.append((nearest - flash) * 1000)
    return Offsets(flashes, beeps, pairs)
