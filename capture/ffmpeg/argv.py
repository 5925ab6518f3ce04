"""Pure functions that build FFmpeg's argv (a list, never a shell string).

ffmpeg-python is imported by each builder, not with this module: the CLI
imports this module for its constants on every run, even ``--help``.

Every backend is built with ffmpeg-python's graph (``ffmpeg.input(...)``,
``.output(...)``, ``.global_args(...)``, ``.compile()``), so filters compose
and the argv is the same on every machine: unit tests assert it exactly for
backends that cannot run here (avfoundation, gdigrab, ddagrab).

Each input has its own module (:mod:`caprec.capture.ffmpeg.screen_input`,
:mod:`~caprec.capture.ffmpeg.audio_input` with the A/V sync,
:mod:`~caprec.capture.ffmpeg.camera_input`); their types and constants are
re-exported here (``X as X``), where the rest of caprec imports them with the
builders.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

from caprec.capture.errors import SettingError, field
from caprec.capture.ffmpeg.audio_input import (
    AUDIO_BITRATE,
    AUDIO_CODEC,
    VIDEO_SYNC_TIME_BASE,
    AudioNodes,
    audio_nodes,
    audio_streams,
    av_synced,
)
from caprec.capture.ffmpeg.audio_input import Audio as Audio
from caprec.capture.ffmpeg.audio_input import AudioBackend as AudioBackend
from caprec.capture.ffmpeg.audio_input import AudioMix as AudioMix
from caprec.capture.ffmpeg.audio_input import AudioSource as AudioSource
from caprec.capture.ffmpeg.audio_input import AudioTracks as AudioTracks
from caprec.capture.ffmpeg.audio_input import audio_inputs as audio_inputs
from caprec.capture.ffmpeg.audio_input import describe_audio as describe_audio
from caprec.capture.ffmpeg.camera_input import CAMERA_MARGIN as CAMERA_MARGIN
from caprec.capture.ffmpeg.camera_input import DEFAULT_CAMERA_WIDTH as DEFAULT_CAMERA_WIDTH
from caprec.capture.ffmpeg.camera_input import CameraBackend as CameraBackend
from caprec.capture.ffmpeg.camera_input import CameraSource as CameraSource
from caprec.capture.ffmpeg.camera_input import Corner as Corner
from caprec.capture.ffmpeg.camera_input import camera_corner_xy as camera_corner_xy
from caprec.capture.ffmpeg.camera_input import camera_input
from caprec.capture.ffmpeg.nodes import even_crop, queue_options
from caprec.capture.ffmpeg.screen_input import AVFOUNDATION_DEFAULT_SCREEN as AVFOUNDATION_DEFAULT_SCREEN
from caprec.capture.ffmpeg.screen_input import DEFAULT_FPS as DEFAULT_FPS
from caprec.capture.ffmpeg.screen_input import DEFAULT_TEST_SIZE as DEFAULT_TEST_SIZE
from caprec.capture.ffmpeg.screen_input import Backend as Backend
from caprec.capture.ffmpeg.screen_input import VideoSource as VideoSource
from caprec.capture.ffmpeg.screen_input import source_stream

# The x264 preset moves memory and CPU far more than any queue does
# (1280x720@30, peak RSS: ultrafast 88 MB, veryfast 233 MB, veryfast with
# -tune zerolatency 87 MB). veryfast+zerolatency keeps up in real time on
# 2 cores at a fraction of ultrafast's file size; zerolatency drops the
# lookahead and B-frames that hold frames (memory) in the encoder.
DEFAULT_CODEC = "libx264"
DEFAULT_PRESET = "veryfast"
DEFAULT_TUNE = "zerolatency"
DEFAULT_CRF = 23
# A keyframe, hence a fragment, at least every second: a crash loses < 1 s.
KEYFRAME_INTERVAL_S = 1.0
STATS_PERIOD_S = 0.5
FRAGMENTED_MP4_FLAGS = "+frag_keyframe+empty_moov+default_base_moof"
#: An audio-only file's fragment length (microseconds): as a video's keyframe interval.
AUDIO_FRAGMENT_US = round(KEYFRAME_INTERVAL_S * 1_000_000)
#: The finished file's container by the output's extension: the recording is
#: a fragmented MP4, and H.264 (and AAC) stream-copy into each of these.
CONTAINERS = {".mp4": "mp4", ".mov": "mov", ".mkv": "matroska"}
DEFAULT_CONTAINER = "mp4"
INDEX_FIRST_CONTAINERS = frozenset({"mp4", "mov"})
PIXEL_FORMAT = "yuv420p"

SOFTWARE_CODECS = frozenset({"libx264"})
HARDWARE_CODECS = frozenset({"h264_videotoolbox", "h264_nvenc", "h264_qsv", "h264_amf"})
SUPPORTED_CODECS = SOFTWARE_CODECS | HARDWARE_CODECS
CRF_RANGE = (0, 51)

# FFmpeg 7 made -thread_queue_size an output option as well (muxer queues).
OUTPUT_QUEUE_MIN_MAJOR = 7


def container_for(path: PurePath) -> str:
    """The container a finished ``path`` is written in (its extension's; MP4 for any other)."""
    return CONTAINERS.get(path.suffix.lower(), DEFAULT_CONTAINER)


@dataclass(frozen=True)
class Encoding:
    """How to encode: codec, speed/quality knobs, and the recording's length."""

    codec: str = DEFAULT_CODEC
    preset: str | None = None
    crf: int | None = None
    duration: float | None = None


def encoder_options(encoding: Encoding, *, fps: float) -> dict[str, Any]:
    """Output options for the codec: quality knobs, keyframe interval, pixel format."""
    codec = encoding.codec
    if codec not in SUPPORTED_CODECS:
        raise SettingError(field("codec"),
                           f"{codec!r} is not supported; use one of {', '.join(sorted(SUPPORTED_CODECS))}")
    opts: dict[str, Any] = {
        "c:v": codec,
        "pix_fmt": PIXEL_FORMAT,
        "g": max(1, round(fps * KEYFRAME_INTERVAL_S)),
    }
    crf = encoding.crf
    if codec == "libx264":
        opts["preset"] = encoding.preset or DEFAULT_PRESET
        opts["tune"] = DEFAULT_TUNE
        opts["crf"] = DEFAULT_CRF if crf is None else crf
        return opts
    if encoding.preset is not None:
        opts["preset"] = encoding.preset
    if codec == "h264_videotoolbox":
        opts["realtime"] = 1
        if crf is not None:
            raise SettingError(field("crf"), "h264_videotoolbox has no constant-quality scale like CRF; drop `crf`")
    elif crf is not None:
        # The closest constant-quality knob of each hardware encoder (same 0-51 QP scale).
        if codec == "h264_nvenc":
            opts["cq"] = crf
        elif codec == "h264_qsv":
            opts["global_quality"] = crf
        else:  # h264_amf
            opts.update(rc="cqp", qp_i=crf, qp_p=crf)
    return opts


@dataclass(frozen=True)
class TrackFiles:
    """Studio mode: the tracks FFmpeg writes beside the video, each to its own fragmented file.

    ``audio`` holds one file per audio input, in the inputs' order (each
    input its own file, never mixed); ``camera`` the camera's picture at its
    own size. One FFmpeg process writes them all (one output each), so they
    share the video's clock and its stop.
    """

    audio: tuple[Path, ...] = ()
    camera: Path | None = None

    @property
    def paths(self) -> tuple[Path, ...]:
        """Every file, audio first."""
        return (*self.audio, *(() if self.camera is None else (self.camera,)))


def build_record_argv(source: VideoSource, encoding: Encoding, *, ffmpeg_path: str,
                      output: str = "pipe:1", audio: Audio | None = None,
                      tracks: TrackFiles | None = None, ffmpeg_major: int | None = None,
                      output_queue_size: int | None = None, url: Any = str,
                      stats_period: float = STATS_PERIOD_S) -> list[str]:
    """The full argv of a recording: capture, encode, fragmented MP4 to ``output``.

    With ``audio``, the track (or tracks, see :class:`AudioMix`) is muxed
    into ``output`` as AAC; with ``tracks`` (studio mode), each audio input
    goes to its own fragmented file instead, and the camera (``source.camera``)
    to its own file rather than drawn over the screen. ``url`` turns a
    track's path into FFmpeg's name for it. Progress blocks and log lines
    both go to stderr (``-progress pipe:2``): one stream to read, and it
    works the same on Windows; a block every ``stats_period`` seconds.
    """
    import ffmpeg  # lazy: see the module docstring
    common: dict[str, Any] = {"f": "mp4", "movflags": FRAGMENTED_MP4_FLAGS}
    if encoding.duration is not None:
        # FFmpeg's own timeline ends the recording: exact frame counts.
        common["t"] = f"{encoding.duration:g}"
    if output_queue_size is not None and (ffmpeg_major or 0) >= OUTPUT_QUEUE_MIN_MAJOR:
        common["thread_queue_size"] = output_queue_size
    audio_opts = {"c:a": AUDIO_CODEC, "b:a": AUDIO_BITRATE}
    video_opts = {**encoder_options(encoding, fps=source.fps), **common}
    synced = av_synced(source, audio, ffmpeg_major=ffmpeg_major)
    if synced:
        video_opts.update({"fps_mode": "vfr", "enc_time_base:v": VIDEO_SYNC_TIME_BASE})
    camera_opts = dict(video_opts)
    camera_apart = tracks is not None and tracks.camera is not None
    nodes = audio_nodes(audio, synced=synced, ffmpeg_major=ffmpeg_major)
    streams = [source_stream(source, draw_camera=not camera_apart)]
    if audio is not None and tracks is None:
        muxed, titles = audio_streams(audio, nodes)
        streams += muxed
        video_opts.update(audio_opts, **titles)
    elif audio is not None:
        # A lone unfiltered input 0 gets no -map from ffmpeg-python: FFmpeg would add the audio to the video file.
        video_opts["an"] = None
    if camera_apart and not nodes.first and isinstance(streams[0].node, ffmpeg.nodes.InputNode):
        # ...and might pick the camera as the video, when it is larger than the screen.
        video_opts["map"] = "0:v"
    outputs: list[Any] = [ffmpeg.output(*streams, output, **video_opts)]
    if tracks is not None:
        # frag_keyframe cuts fragments on video keyframes only: an audio file alone would hold no
        # fragment until FFmpeg's end (nothing left after a kill -9) without a fragment duration, and
        # its small fragments would wait in FFmpeg's write buffer without flush_packets (measured: 28
        # bytes on disk after 4 s without both, a fragment a second with both).
        outputs += _track_outputs(source, nodes, tracks, url=url, video_opts=camera_opts,
                                  audio_opts={**audio_opts, **common, "frag_duration": AUDIO_FRAGMENT_US,
                                              "flush_packets": 1})
    stream = ffmpeg.merge_outputs(*outputs) if len(outputs) > 1 else outputs[0]
    stream = stream.global_args(
        "-hide_banner", "-nostats", "-loglevel", "level+info",
        "-progress", "pipe:2", "-stats_period", f"{stats_period:g}",
    )
    # ffmpeg-python numbers the inputs in the order it meets them walking back from the outputs (the video
    # first); the nodes listed after the graph are met before it, last first: the audio inputs that must open
    # before the screen (see AudioNodes) come first, while the tracks keep their order (video first).
    return list(ffmpeg.compile([stream, *reversed(nodes.first)], cmd=ffmpeg_path))


def _track_outputs(source: VideoSource, nodes: AudioNodes, tracks: TrackFiles, *, url: Any,
                   video_opts: dict[str, Any], audio_opts: dict[str, Any]) -> list[Any]:
    """One output per studio track: each audio input alone (as its own file), then the camera."""
    import ffmpeg  # lazy: see the module docstring
    if len(nodes.nodes) != len(tracks.audio):
        raise ValueError(f"{len(nodes.nodes)} audio inputs but {len(tracks.audio)} audio files")
    # Each output maps its own input (ffmpeg-python writes -map), so no output picks up another's stream.
    outputs = [ffmpeg.output(stream, url(path), **audio_opts)
               for stream, path in zip(nodes.streams, tracks.audio, strict=True)]
    if tracks.camera is not None:
        if source.camera is None:
            raise ValueError("a camera file without a camera")
        camera = even_crop(camera_input(source.camera, fps=source.fps, queue=queue_options(source.queue_size)))
        outputs.append(ffmpeg.output(camera, url(tracks.camera), **video_opts))
    return outputs


# A stream copy that also counts what it copied: its progress (frames, time) on
# stdout and the input's stream line on stderr make it the file's read-back.
CHECKED_COPY_GLOBALS = ("-hide_banner", "-nostdin", "-nostats", "-loglevel", "level+info", "-progress", "pipe:1",
                        "-y")


def _container_args(container: str) -> dict[str, str]:
    """The muxer and its flags: MP4 and MOV with the index up front; Matroska has its own at the start."""
    if container in INDEX_FIRST_CONTAINERS:
        return {"movflags": "+faststart", "f": container}
    return {"f": container}


def build_remux_argv(*, ffmpeg_path: str, source: str, destination: str, container: str = "mp4",
                     check: bool = False) -> list[str]:
    """Stream-copy a fragmented MP4 into a regular ``container`` file (mp4, mov, matroska), index first.

    ``check`` adds the progress report that makes the copy the file's read-back.
    """
    import ffmpeg  # lazy: see the module docstring
    # map 0: every track (several audio tracks), not FFmpeg's pick of one per kind.
    stream = ffmpeg.output(ffmpeg.input(source), destination, map="0", c="copy", **_container_args(container))
    stream = stream.global_args(*CHECKED_COPY_GLOBALS) if check else stream.global_args(
        "-hide_banner", "-nostdin", "-loglevel", "error", "-y")
    return list(ffmpeg.compile(stream, cmd=ffmpeg_path))


def build_concat_argv(*, ffmpeg_path: str, listing: str, destination: str, container: str = "mp4") -> list[str]:
    """Join the files a concat-demuxer ``listing`` names, by stream copy, into ``container``, index first.

    Its progress on stdout makes the copy the joined file's read-back.
    """
    import ffmpeg  # lazy: see the module docstring
    stream = ffmpeg.output(ffmpeg.input(listing, f="concat", safe=0), destination, map="0", c="copy",
                           **_container_args(container)).global_args(*CHECKED_COPY_GLOBALS)
    return list(ffmpeg.compile(stream, cmd=ffmpeg_path))


def build_verify_argv(*, ffmpeg_path: str, path: str) -> list[str]:
    """Read every video packet of ``path`` without decoding; progress on stdout."""
    import ffmpeg  # lazy: see the module docstring
    stream = ffmpeg.output(ffmpeg.input(path), "-", map="0:v:0", c="copy", f="null").global_args(
        "-hide_banner", "-nostdin", "-nostats", "-loglevel", "level+info", "-progress", "pipe:1"
    )
    return list(ffmpeg.compile(stream, cmd=ffmpeg_path))
