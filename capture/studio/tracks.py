"""Where a studio segment's tracks go: the screen, one audio file per input, the camera.

::

    segments/1/display.mp4        the screen (pointer hidden)
    segments/1/audio.m4a          one audio input
    segments/1/audio-mic.m4a      several inputs: one file each, named by the input
    segments/1/audio-desktop.m4a
    segments/1/camera.mp4         with a camera

An input is named by its kind (``mic``, ``desktop``) or a safe slug of its
device name (``alsa:hw:0,0`` -> ``alsa-hw-0-0``); a name that repeats gets
``-2``, ``-3``. One input keeps the single ``audio.m4a`` of earlier bundles.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from caprec.capture.ffmpeg.argv import Audio, AudioBackend, TrackFiles, audio_inputs

DISPLAY_NAME = "display.mp4"
AUDIO_NAME = "audio.m4a"
AUDIO_INPUT_FORMAT = "audio-{name}.m4a"
CAMERA_NAME = "camera.mp4"
# Names stay short and portable (Windows, case-insensitive file systems).
SLUG_MAX = 40
_UNSAFE = re.compile(r"[^a-z0-9]+")


def slug(text: str, *, fallback: str) -> str:
    """``alsa:hw:0,0`` -> ``alsa-hw-0-0``: lower case letters, digits and single dashes; ``fallback`` if empty."""
    return _UNSAFE.sub("-", text.lower()).strip("-")[:SLUG_MAX].strip("-") or fallback


def input_names(audio: Audio) -> tuple[str, ...]:
    """Each audio input's name in the bundle (its label, else its device), unique, in order."""
    names: list[str] = []
    for number, one in enumerate(audio_inputs(audio), start=1):
        label = one.label or ("test" if one.backend is AudioBackend.TEST else one.device)
        base = slug(label, fallback=f"input-{number}")
        name, copy = base, 2
        while name in names:
            name, copy = f"{base}-{copy}", copy + 1
        names.append(name)
    return tuple(names)


@dataclass(frozen=True)
class SegmentLayout:
    """One studio segment's files: the screen and its :class:`TrackFiles` (audio by input, camera)."""

    display: Path
    tracks: TrackFiles
    inputs: tuple[str, ...]  # each audio file's input name, in the same order

    def audio_named(self) -> tuple[tuple[str, Path], ...]:
        """(input name, file) for every audio file."""
        return tuple(zip(self.inputs, self.tracks.audio, strict=True))


def segment_layout(directory: Path, *, audio: Audio | None, camera: bool) -> SegmentLayout:
    """The files of the segment recorded into ``directory``."""
    names = () if audio is None else input_names(audio)
    if len(names) == 1:
        files: tuple[Path, ...] = (directory / AUDIO_NAME,)
    else:
        files = tuple(directory / AUDIO_INPUT_FORMAT.format(name=name) for name in names)
    return SegmentLayout(display=directory / DISPLAY_NAME,
                         tracks=TrackFiles(audio=files, camera=directory / CAMERA_NAME if camera else None),
                         inputs=names)
