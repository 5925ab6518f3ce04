"""Audio inputs (the microphone, the desktop's sound, the test tone), how several are written, and how they
are put on the screen's clock.

ffmpeg-python is imported by each builder, not with this module (see :mod:`caprec.capture.ffmpeg.argv`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from caprec.capture.ffmpeg.nodes import queue_options
from caprec.capture.ffmpeg.screen_input import VideoSource


class AudioBackend(enum.StrEnum):
    """FFmpeg's audio input, or the synthetic test tone."""

    TEST = "test"  # lavfi sine
    PULSE = "pulse"
    ALSA = "alsa"
    AVFOUNDATION = "avfoundation"
    DSHOW = "dshow"


@dataclass(frozen=True)
class AudioSource:
    """An audio input: ``device`` is the PulseAudio source, ALSA device,
    avfoundation audio index or dshow device name; ignored for the test tone."""

    backend: AudioBackend
    device: str = "default"
    realtime: bool = True
    queue_size: int | None = None
    #: What the track is called in the file (``mic``, ``desktop``); empty: untitled.
    label: str = ""


class AudioTracks(enum.StrEnum):
    """How several audio inputs are written: one mixed track, or one track each."""

    MIX = "mix"
    SEPARATE = "separate"


@dataclass(frozen=True)
class AudioMix:
    """Several audio inputs recorded together (the microphone and the desktop's sound).

    ``MIX`` sums them into one track with their levels kept (``amix`` with
    ``normalize=0``, not divided by the number of inputs); ``SEPARATE``
    writes one track per input, named with its label.
    """

    inputs: tuple[AudioSource, ...]
    tracks: AudioTracks = AudioTracks.MIX


#: What a recording's audio is: one input, several, or None.
Audio = AudioSource | AudioMix


AUDIO_CODEC = "aac"
AUDIO_BITRATE = "160k"
TEST_TONE = "sine=frequency=440:sample_rate=48000"
# A/V sync (benchmarks/av_sync.py measures it). x11grab stamps each frame with the wall clock when it is
# grabbed; pulse and alsa stamp each audio packet with the wall clock minus the device latency. Both are right
# to a few ms, but FFmpeg shifts each input to start at 0 on its own, so the sound moved by the time between
# opening the screen and opening the device (hundreds of ms, different every run). -isync (FFmpeg 5.1) shifts
# the audio by the difference of the two start times instead; aresample pads the audio from 0 (the sound
# before the device opened is silence), so every track starts at 0 and the fragmented MP4 (no edit list) keeps
# them aligned; and the video keeps its grab times (-fps_mode vfr, on a 90 kHz clock rather than 1/fps): the
# default for MP4 (cfr) retimes the frames to a grid and moved the picture by up to a frame and a half,
# differently every run, and even vfr rounds each grab time to 1/fps (up to half a frame).
# The audio inputs are opened before the screen (they come first in the argv; -isync names the screen's index):
# FFmpeg opens its inputs one after the other and a pulse input can take ~2 s to open (it waits for a first
# fragment), so a screen opened first sat unread meanwhile. Measured with two inputs on FFmpeg 9.0, screen first:
# -65..-73 ms in 3 runs of 4; audio first: 1 run of 9 out of +-50 ms (the rest is the scheduler, below).
# FFmpeg 7+ reads each input on its own thread and holds back (chokes) an input whose stream is 100 ms ahead of
# the slowest one at the muxer (its scheduler's SCHEDULE_TOLERANCE). The sound reaches the muxer late: pulse hands
# over 50 ms packets by default, stamped when captured, then AAC waits for 1024 samples. The screen input was held
# until the sound caught up, so x11grab grabbed 3 frames at once every ~100 ms and a change on screen reached the
# video up to 100 ms late (with FFmpeg 9.0, a flash 50-95 ms late in about 1 run of 3 here, steady through the
# run). 10 ms pulse fragments keep the sound within the tolerance: a frame every 33 ms again.
SCHEDULER_MIN_MAJOR = 7
PULSE_FRAGMENT_BYTES = 1920  # 10 ms of pulse's default format (48 kHz, 2 channels, 16-bit)
WALLCLOCK_VIDEO = frozenset({"x11grab"})
WALLCLOCK_AUDIO = frozenset({"pulse", "alsa"})
AV_SYNC_MIN_MAJOR = 5  # -isync and -fps_mode came with 5.1 (5.0, rare, lacks both)
AUDIO_SYNC_FILTER = {"async": 1, "first_pts": 0}
VIDEO_SYNC_TIME_BASE = "1:90000"


def audio_stream(audio: AudioSource, *, sync_to: int | None = None, small_fragments: bool = False) -> Any:
    """The ffmpeg-python input node for an audio input; ``sync_to``: the screen's input index, whose clock a
    wall-clock input (see :data:`WALLCLOCK_AUDIO`) is put on; ``small_fragments``: pulse hands over its sound
    in 10 ms packets (see :data:`SCHEDULER_MIN_MAJOR`)."""
    import ffmpeg  # lazy: see the module docstring
    queue = queue_options(audio.queue_size)
    if small_fragments and audio.backend is AudioBackend.PULSE:
        queue["fragment_size"] = PULSE_FRAGMENT_BYTES
    if sync_to is not None and audio.backend in WALLCLOCK_AUDIO:
        queue["isync"] = sync_to
    if audio.backend is AudioBackend.TEST:
        extra: dict[str, Any] = {"re": None} if audio.realtime else {}
        return ffmpeg.input(TEST_TONE, f="lavfi", **extra, **queue)
    if audio.backend is AudioBackend.AVFOUNDATION:
        return ffmpeg.input(f"none:{audio.device}", f="avfoundation", **queue)
    if audio.backend is AudioBackend.DSHOW:
        return ffmpeg.input(f"audio={audio.device}", f="dshow", **queue)
    return ffmpeg.input(audio.device, f=str(audio.backend), **queue)


def audio_inputs(audio: Audio) -> tuple[AudioSource, ...]:
    """The inputs of ``audio``, in order."""
    return audio.inputs if isinstance(audio, AudioMix) else (audio,)


def describe_audio(audio: Audio) -> str:
    """``pulse:mic`` / ``test`` / ``pulse:a + pulse:b (mix)``: the audio as a manifest names it."""
    names = ["test" if a.backend is AudioBackend.TEST else f"{a.backend}:{a.device}" for a in audio_inputs(audio)]
    if not isinstance(audio, AudioMix) or len(names) == 1:
        return names[0]
    return " + ".join(names) + f" ({audio.tracks})"


def av_synced(source: VideoSource, audio: Audio | None, *, ffmpeg_major: int | None) -> bool:
    """Whether the audio inputs are put on the screen's clock (see :data:`WALLCLOCK_VIDEO`).

    Only when both sides stamp with the wall clock (x11grab with pulse or alsa): a test pattern or a
    test tone counts from 0, and other platforms' devices have their own clocks.
    """
    if audio is None or source.backend not in WALLCLOCK_VIDEO:
        return False
    if ffmpeg_major is not None and ffmpeg_major < AV_SYNC_MIN_MAJOR:
        return False
    return any(a.backend in WALLCLOCK_AUDIO for a in audio_inputs(audio))


@dataclass(frozen=True)
class AudioNodes:
    """The audio inputs' nodes, in the inputs' order, and whether they are on the screen's clock.

    Synced, they are FFmpeg's first inputs (see :data:`WALLCLOCK_VIDEO`): :attr:`first` lists them for the
    compile, and the screen is input number ``len(nodes)``.
    """

    nodes: tuple[Any, ...]
    synced: bool = False

    @property
    def first(self) -> tuple[Any, ...]:
        """The inputs that come before the screen in the argv (none unless synced)."""
        return self.nodes if self.synced else ()

    @property
    def streams(self) -> list[Any]:
        """Each input's stream, starting at the video's 0 when synced."""
        return [_synced(node, synced=self.synced) for node in self.nodes]


def audio_nodes(audio: Audio | None, *, synced: bool = False, ffmpeg_major: int | None = None) -> AudioNodes:
    """The input nodes of ``audio`` (none without), each on the screen's clock when ``synced``."""
    inputs = () if audio is None else audio_inputs(audio)
    sync_to = len(inputs) if synced else None
    small = synced and (ffmpeg_major is None or ffmpeg_major >= SCHEDULER_MIN_MAJOR)
    return AudioNodes(tuple(audio_stream(a, sync_to=sync_to, small_fragments=small) for a in inputs), synced=synced)


def audio_streams(audio: Audio, nodes: AudioNodes) -> tuple[list[Any], dict[str, Any]]:
    """The audio streams to write for ``audio`` (its ``nodes``) and their per-stream output options (track
    names): one mixed stream, or one per input."""
    import ffmpeg  # lazy: see the module docstring
    inputs = audio_inputs(audio)
    streams = nodes.streams
    if isinstance(audio, AudioMix) and audio.tracks is AudioTracks.MIX and len(streams) > 1:
        mixed = ffmpeg.filter(streams, "amix", inputs=len(streams), normalize=0, duration="longest")
        return [mixed], {}
    # MP4 keeps a track's name as its handler name (a title tag is dropped); players show it.
    titles = {f"metadata:s:a:{n}": f"handler_name={a.label}" for n, a in enumerate(inputs)
              if a.label and len(inputs) > 1}
    return streams, titles


def _synced(stream: Any, *, synced: bool) -> Any:
    """``stream`` starting at the video's 0: the time before its device opened becomes silence (``synced``)."""
    return stream.filter("aresample", **AUDIO_SYNC_FILTER) if synced else stream
