"""Pure functions that build FFmpeg's argv (a list, never a shell string).

ffmpeg-python is imported by each builder, not with this module: the CLI
imports this module for its constants on every run, even ``--help``.

Every backend is built with ffmpeg-python's graph (``ffmpeg.input(...)``,
``.output(...)``, ``.global_args(...)``, ``.compile()``), so filters compose
and the argv is the same on every machine: unit tests assert it exactly for
backends that cannot run here (avfoundation, gdigrab, ddagrab).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

from caprec.capture.errors import SettingError, field
from caprec.capture.units import Region

# The x264 preset moves memory and CPU far more than any queue does
# (1280x720@30, peak RSS: ultrafast 88 MB, veryfast 233 MB, veryfast with
# -tune zerolatency 87 MB). veryfast+zerolatency keeps up in real time on
# 2 cores at a fraction of ultrafast's file size; zerolatency drops the
# lookahead and B-frames that hold frames (memory) in the encoder.
DEFAULT_CODEC = "libx264"
DEFAULT_PRESET = "veryfast"
DEFAULT_TUNE = "zerolatency"
DEFAULT_CRF = 23
DEFAULT_FPS = 30.0
DEFAULT_TEST_SIZE = "1280x720"
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
# avfoundation numbers screens after the cameras, so an index names a camera on
# a Mac with one; it also matches a device by name, and screens are named.
AVFOUNDATION_DEFAULT_SCREEN = "Capture screen 0"

SOFTWARE_CODECS = frozenset({"libx264"})
HARDWARE_CODECS = frozenset({"h264_videotoolbox", "h264_nvenc", "h264_qsv", "h264_amf"})
SUPPORTED_CODECS = SOFTWARE_CODECS | HARDWARE_CODECS
CRF_RANGE = (0, 51)


def container_for(path: PurePath) -> str:
    """The container a finished ``path`` is written in (its extension's; MP4 for any other)."""
    return CONTAINERS.get(path.suffix.lower(), DEFAULT_CONTAINER)


class Backend(enum.StrEnum):
    """FFmpeg's capture input for a platform, or the synthetic test pattern."""

    X11GRAB = "x11grab"
    AVFOUNDATION = "avfoundation"
    GDIGRAB = "gdigrab"
    DDAGRAB = "ddagrab"
    LAVFI = "lavfi"


class CameraBackend(enum.StrEnum):
    """FFmpeg's camera input, or a synthetic test picture."""

    V4L2 = "v4l2"
    AVFOUNDATION = "avfoundation"
    DSHOW = "dshow"
    TEST = "test"  # lavfi testsrc


class Corner(enum.StrEnum):
    """Where the camera picture sits on the screen recording."""

    TOP_LEFT = "top-left"
    TOP_RIGHT = "top-right"
    BOTTOM_LEFT = "bottom-left"
    BOTTOM_RIGHT = "bottom-right"


DEFAULT_CAMERA_WIDTH = 320
CAMERA_MARGIN = 16
CAMERA_TEST_SIZE = "640x480"


@dataclass(frozen=True)
class CameraSource:
    """A camera drawn over the screen recording: its input, its width on the video and its corner."""

    backend: CameraBackend
    device: str = ""
    width: int = DEFAULT_CAMERA_WIDTH
    corner: Corner = Corner.BOTTOM_RIGHT


@dataclass(frozen=True)
class VideoSource:
    """What to capture.

    ``device`` is backend-specific: the X display (``:0.0``) for x11grab, the
    screen device for avfoundation (``Capture screen 0``, by name), the
    window (``desktop`` or ``title=...``) for gdigrab, the output index for
    ddagrab, the pattern size (``1280x720``) for lavfi.
    """

    backend: Backend
    fps: float = DEFAULT_FPS
    device: str = ""
    region: Region | None = None
    draw_mouse: bool = True
    # lavfi runs as fast as it can unless paced; -re makes 5 s take 5 s.
    realtime: bool = True
    queue_size: int | None = None
    #: x11grab: the X window to record (``-window_id``); its size is the video's.
    window_id: int | None = None
    #: x11grab: the region (its size) follows the pointer (``-follow_mouse centered``).
    follow_mouse: bool = False
    #: A camera picture overlaid in a corner.
    camera: CameraSource | None = None


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
# FFmpeg 7 made -thread_queue_size an output option as well (muxer queues).
OUTPUT_QUEUE_MIN_MAJOR = 7
# A/V sync (benchmarks/av_sync.py measures it). x11grab stamps each frame with the wall clock when it is
# grabbed; pulse and alsa stamp each audio packet with the wall clock minus the device latency. Both are right
# to a few ms, but FFmpeg shifts each input to start at 0 on its own, so the sound moved by the time between
# opening the screen and opening the device (hundreds of ms, different every run). -isync (FFmpeg 5.1) shifts
# the audio by the difference of the two start times instead; aresample pads the audio from 0 (the sound
# before the device opened is silence), so every track starts at 0 and the fragmented MP4 (no edit list) keeps
# them aligned; and the video keeps its grab times (-fps_mode vfr, on a 90 kHz clock rather than 1/fps): the
# default for MP4 (cfr) retimes the frames to a grid and moved the picture by up to a frame and a half,
# differently every run, and even vfr rounds each grab time to 1/fps (up to half a frame).
WALLCLOCK_VIDEO = frozenset({"x11grab"})
WALLCLOCK_AUDIO = frozenset({"pulse", "alsa"})
AV_SYNC_MIN_MAJOR = 5  # -isync and -fps_mode came with 5.1 (5.0, rare, lacks both)
SCREEN_INPUT = 0  # the screen is the argv's first input
AUDIO_SYNC_FILTER = {"async": 1, "first_pts": 0}
VIDEO_SYNC_TIME_BASE = "1:90000"


@dataclass(frozen=True)
class Encoding:
    """How to encode: codec, speed/quality knobs, and the recording's length."""

    codec: str = DEFAULT_CODEC
    preset: str | None = None
    crf: int | None = None
    duration: float | None = None


def _fps(value: float) -> str:
    return f"{value:g}"


def _even_crop(stream: Any) -> Any:
    """yuv420p needs even sizes: trim a stray pixel column/row of an odd screen."""
    return stream.filter("crop", "trunc(iw/2)*2", "trunc(ih/2)*2")


def camera_input(camera: CameraSource, *, fps: float, queue: dict[str, Any]) -> Any:
    """The camera's input at its own size (a studio bundle's camera track)."""
    import ffmpeg  # lazy: see the module docstring
    rate = _fps(fps)
    if camera.backend is CameraBackend.TEST:
        return ffmpeg.input(f"testsrc=size={CAMERA_TEST_SIZE}:rate={rate}", f="lavfi", re=None, **queue)
    if camera.backend is CameraBackend.V4L2:
        return ffmpeg.input(camera.device, f="v4l2", framerate=rate, **queue)
    if camera.backend is CameraBackend.AVFOUNDATION:
        return ffmpeg.input(f"{camera.device}:none", f="avfoundation", framerate=rate, **queue)
    return ffmpeg.input(f"video={camera.device}", f="dshow", **queue)


def camera_stream(camera: CameraSource, *, fps: float, queue: dict[str, Any]) -> Any:
    """The camera's input, scaled to its width (even height): the picture drawn in a corner."""
    return camera_input(camera, fps=fps, queue=queue).filter("scale", camera.width, -2)


def camera_corner_xy(corner: Corner, margin: int = CAMERA_MARGIN) -> tuple[str, str]:
    """The ``overlay`` filter's x and y expressions that put the picture in ``corner``."""
    right, bottom = corner in (Corner.TOP_RIGHT, Corner.BOTTOM_RIGHT), corner.value.startswith("bottom")
    x = f"main_w-overlay_w-{margin}" if right else str(margin)
    y = f"main_h-overlay_h-{margin}" if bottom else str(margin)
    return x, y


def _with_camera(screen: Any, source: VideoSource, queue: dict[str, Any]) -> Any:
    """``screen`` with the camera (if any) drawn over it in its corner."""
    import ffmpeg  # lazy: see the module docstring
    camera = source.camera
    if camera is None:
        return screen
    x, y = camera_corner_xy(camera.corner)
    return ffmpeg.overlay(screen, camera_stream(camera, fps=source.fps, queue=queue), x=x, y=y)


def _queue(size: int | None) -> dict[str, Any]:
    return {} if size is None else {"thread_queue_size": size}


def source_stream(source: VideoSource, *, draw_camera: bool = True) -> Any:
    """The ffmpeg-python stream for ``source``: an input node plus filters (and the camera drawn over it,
    unless ``draw_camera`` is False: a studio bundle records the camera as its own track)."""
    screen = _screen_stream(source)
    return _with_camera(screen, source, _queue(source.queue_size)) if draw_camera else screen


def _screen_stream(source: VideoSource) -> Any:
    """The screen (or test pattern) input with its crop, without the camera."""
    import ffmpeg  # lazy: see the module docstring
    fps = _fps(source.fps)
    queue: dict[str, Any] = {} if source.queue_size is None else {"thread_queue_size": source.queue_size}
    region = source.region
    if source.backend is Backend.LAVFI:
        size = source.device or DEFAULT_TEST_SIZE
        extra: dict[str, Any] = {"re": None} if source.realtime else {}
        return ffmpeg.input(f"testsrc2=size={size}:rate={fps}", f="lavfi", **extra, **queue)
    if source.backend is Backend.X11GRAB:
        display = source.device or ":0.0"
        # x11grab stamps frames at exactly -framerate: nothing to estimate. Without
        # -fpsprobesize 0, FFmpeg reads frames to guess the rate (which delays the
        # start) and warns "not enough frames to estimate rate" on every recording.
        opts: dict[str, Any] = {"framerate": fps, "draw_mouse": int(source.draw_mouse), "fpsprobesize": 0, **queue}
        if source.window_id is not None:
            opts["window_id"] = hex(source.window_id)
        if source.follow_mouse:
            opts["follow_mouse"] = "centered"
        if region is None:
            return _even_crop(ffmpeg.input(display, f="x11grab", **opts))
        return ffmpeg.input(f"{display}+{region.x},{region.y}", f="x11grab",
                            video_size=(region.width, region.height), **opts)
    if source.backend is Backend.AVFOUNDATION:
        # "<video>:<audio>"; audio is a separate input (none here). Screens
        # are captured whole, so the region is a crop filter.
        stream = ffmpeg.input(f"{source.device or AVFOUNDATION_DEFAULT_SCREEN}:none", f="avfoundation",
                              framerate=fps,
                              capture_cursor=int(source.draw_mouse), capture_mouse_clicks=0,
                              pixel_format="uyvy422", **queue)
        if region is None:
            return _even_crop(stream)
        return stream.filter("crop", region.width, region.height, region.x, region.y)
    if source.backend is Backend.GDIGRAB:
        opts = {"framerate": fps, "draw_mouse": int(source.draw_mouse), **queue}
        if region is not None:
            opts.update(offset_x=region.x, offset_y=region.y, video_size=(region.width, region.height))
        stream = ffmpeg.input(source.device or "desktop", f="gdigrab", **opts)
        return stream if region is not None else _even_crop(stream)
    if source.backend is Backend.DDAGRAB:
        # ddagrab is a lavfi source that yields D3D11 frames: CPU encoders
        # need them downloaded to system memory first.
        args = [f"output_idx={source.device or '0'}", f"framerate={fps}",
                f"draw_mouse={int(source.draw_mouse)}"]
        if region is not None:
            args += [f"video_size={region.size}", f"offset_x={region.x}", f"offset_y={region.y}"]
        stream = ffmpeg.input("ddagrab=" + ":".join(args), f="lavfi", **queue)
        return stream.filter("hwdownload").filter("format", "bgra")
    raise AssertionError(f"unhandled backend {source.backend}")  # pragma: no cover


def audio_stream(audio: AudioSource, *, synced: bool = False) -> Any:
    """The ffmpeg-python stream for an audio input; ``synced``: on the screen's clock (see :data:`WALLCLOCK_AUDIO`)."""
    import ffmpeg  # lazy: see the module docstring
    queue: dict[str, Any] = {} if audio.queue_size is None else {"thread_queue_size": audio.queue_size}
    if synced and audio.backend in WALLCLOCK_AUDIO:
        queue["isync"] = SCREEN_INPUT
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


def audio_streams(audio: Audio, *, synced: bool = False) -> tuple[list[Any], dict[str, Any]]:
    """The audio streams to write for ``audio`` and their per-stream output options (track names).

    ``synced`` (see :func:`av_synced`): each input is on the screen's clock and starts at 0.
    """
    import ffmpeg  # lazy: see the module docstring
    inputs = audio_inputs(audio)
    streams = [_synced(audio_stream(a, synced=synced), synced=synced) for a in inputs]
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
    streams = [source_stream(source, draw_camera=not camera_apart)]
    if audio is not None and tracks is None:
        muxed, titles = audio_streams(audio, synced=synced)
        streams += muxed
        video_opts.update(audio_opts, **titles)
    elif audio is not None:
        # A lone unfiltered input gets no -map from ffmpeg-python: FFmpeg would add the audio to the video file.
        video_opts["an"] = None
    if camera_apart and isinstance(streams[0].node, ffmpeg.nodes.InputNode):
        # ...and might pick the camera as the video, when it is larger than the screen.
        video_opts["map"] = "0:v"
    outputs: list[Any] = [ffmpeg.output(*streams, output, **video_opts)]
    if tracks is not None:
        # frag_keyframe cuts fragments on video keyframes only: an audio file alone would hold no
        # fragment until FFmpeg's end (nothing left after a kill -9) without a fragment duration, and
        # its small fragments would wait in FFmpeg's write buffer without flush_packets (measured: 28
        # bytes on disk after 4 s without both, a fragment a second with both).
        outputs += _track_outputs(source, audio, tracks, url=url, video_opts=camera_opts, synced=synced,
                                  audio_opts={**audio_opts, **common, "frag_duration": AUDIO_FRAGMENT_US,
                                              "flush_packets": 1})
    stream = ffmpeg.merge_outputs(*outputs) if len(outputs) > 1 else outputs[0]
    stream = stream.global_args(
        "-hide_banner", "-nostats", "-loglevel", "level+info",
        "-progress", "pipe:2", "-stats_period", f"{stats_period:g}",
    )
    return list(ffmpeg.compile(stream, cmd=ffmpeg_path))


def _track_outputs(source: VideoSource, audio: Audio | None, tracks: TrackFiles, *, url: Any,
                   video_opts: dict[str, Any], audio_opts: dict[str, Any], synced: bool = False) -> list[Any]:
    """One output per studio track: each audio input alone (as its own file), then the camera."""
    import ffmpeg  # lazy: see the module docstring
    inputs = () if audio is None else audio_inputs(audio)
    if len(inputs) != len(tracks.audio):
        raise ValueError(f"{len(inputs)} audio inputs but {len(tracks.audio)} audio files")
    # Each output maps its own input (ffmpeg-python writes -map), so no output picks up another's stream.
    outputs = [ffmpeg.output(_synced(audio_stream(one, synced=synced), synced=synced), url(path), **audio_opts)
               for one, path in zip(inputs, tracks.audio, strict=True)]
    if tracks.camera is not None:
        if source.camera is None:
            raise ValueError("a camera file without a camera")
        camera = _even_crop(camera_input(source.camera, fps=source.fps, queue=_queue(source.queue_size)))
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
