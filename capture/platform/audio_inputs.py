"""Several audio inputs: ``mic,desktop`` (or a list) -> one :class:`Audio` value.

======================  ==========================================================
``mic``                 the default input: PulseAudio/PipeWire's default source
                        (Linux), avfoundation's ``default`` (macOS); Windows
                        has no default: name the DirectShow device
``desktop``             what the computer plays: the default sink's monitor
                        (Linux); macOS and Windows need a loopback device
                        (BlackHole, Stereo Mix) given by name
anything else          as :func:`caprec.capture.platform.audio.parse_audio` reads it
======================  ==========================================================

Several inputs become an :class:`AudioMix`: mixed into one track, or one
track each (``tracks``). Each input keeps a label (``mic``, ``desktop`` or
its name) that titles its track.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from caprec.capture.errors import SettingError
from caprec.capture.ffmpeg.argv import Audio, AudioBackend, AudioMix, AudioSource, AudioTracks
from caprec.capture.platform.audio import parse_audio
from caprec.capture.platform.pulse import DEFAULT_MONITOR, DEFAULT_SOURCE

MIC = "mic"
DESKTOP = "desktop"
LIST_SEPARATOR = ","
MAX_INPUTS = 8


def split_audio(values: Iterable[str]) -> list[str]:
    """``["mic,desktop", "test"]`` -> ``["mic", "desktop", "test"]`` (each repeated flag may be a list).

    ALSA names keep their comma: ``alsa:hw:0,0`` is one device (card 0, device 0).
    """
    items: list[str] = []
    for value in values:
        for part in value.split(LIST_SEPARATOR):
            if part.strip().isdigit() and items and ":" in items[-1]:
                items[-1] += LIST_SEPARATOR + part.strip()
            else:
                items.append(part.strip())
    return items


def parse_audio_input(name: str, *, platform: str, origin: str) -> AudioSource:
    """One input: ``mic``, ``desktop`` or a device name, labelled for its track."""
    word = name.strip().lower()
    if word == MIC:
        if platform == "darwin":
            return AudioSource(AudioBackend.AVFOUNDATION, device="default", label=MIC)
        if platform == "win32":
            raise SettingError(origin, "mic: DirectShow has no default microphone; give its name (caprec devices)")
        return AudioSource(AudioBackend.PULSE, device=DEFAULT_SOURCE, label=MIC)
    if word == DESKTOP:
        if platform == "darwin":
            raise SettingError(origin, "desktop: macOS gives FFmpeg no system sound; install a loopback device "
                                       "(BlackHole) and give its name (caprec devices)")
        if platform == "win32":
            raise SettingError(origin, "desktop: DirectShow has no system sound input; enable Stereo Mix or a "
                                       "loopback device and give its name (caprec devices)")
        return AudioSource(AudioBackend.PULSE, device=DEFAULT_MONITOR, label=DESKTOP)
    source = parse_audio(name, platform=platform, origin=origin)
    return replace(source, label=name.strip())


def parse_audio_inputs(names: Iterable[str], *, platform: str, origin: str,
                       tracks: AudioTracks = AudioTracks.MIX) -> Audio:
    """The audio ``names`` (items may be comma lists) ask for on ``platform``.

    One name gives an :class:`AudioSource`, several an :class:`AudioMix`
    written as ``tracks``. Raises :class:`SettingError` naming ``origin``
    for an empty item, a name given twice, too many inputs, or what
    :func:`parse_audio_input` refuses.
    """
    items = split_audio(names)
    if any(not item for item in items):
        raise SettingError(origin, "has an empty item; write mic,desktop (no empty names)")
    if len(items) > MAX_INPUTS:
        raise SettingError(origin, f"names {len(items)} inputs; at most {MAX_INPUTS}")
    sources = [parse_audio_input(item, platform=platform, origin=origin) for item in items]
    seen: set[tuple[AudioBackend, str]] = set()
    for item, source in zip(items, sources, strict=True):
        key = (source.backend, source.device)
        if key in seen:
            raise SettingError(origin, f"{item!r} is given twice; name each input once")
        seen.add(key)
    if len(sources) == 1:
        return replace(sources[0], label="")  # one track needs no title
    return AudioMix(tuple(sources), tracks)


def pulse_devices(audio: Audio) -> list[str]:
    """The PulseAudio sources ``audio`` opens (to check them against the server)."""
    inputs = audio.inputs if isinstance(audio, AudioMix) else (audio,)
    return [source.device for source in inputs if source.backend is AudioBackend.PULSE]


def with_queue_size(audio: Audio, queue_size: int | None) -> Audio:
    """``audio`` with ``-thread_queue_size`` set on each input."""
    if isinstance(audio, AudioMix):
        return replace(audio, inputs=tuple(replace(source, queue_size=queue_size) for source in audio.inputs))
    return replace(audio, queue_size=queue_size)
