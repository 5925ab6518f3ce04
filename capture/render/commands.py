"""Pure functions that build the FFmpeg command lines of a render (argv lists, never a shell string)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from caprec.capture.ffmpeg.argv import Corner, camera_corner_xy
from caprec.capture.ffmpeg.finish import ffmpeg_file_url
from caprec.capture.render.spec import DEFAULT_CRF, OutputFormat, RenderInputError, Trim

AUDIO_BITRATE = {OutputFormat.MP4: ("aac", "160k"), OutputFormat.WEBM: ("libopus", "128k")}
# GIF: a palette generated from the whole render, then dithered with it.
PALETTEGEN = "palettegen=stats_mode=full:max_colors=256"
PALETTEUSE = "paletteuse=dither=sierra2_4a"
MIN_SIZE = 16


@dataclass(frozen=True)
class SegmentInput:
    """One segment's files and recorded length, as the command builders need them.

    ``audio`` holds one file per audio input (mixed by the render), ``camera`` the camera track.
    """

    video: Path
    audio: tuple[Path, ...]
    duration_s: float
    camera: Path | None = None


@dataclass(frozen=True)
class CameraOverlay:
    """The studio camera drawn over the render: its width and margin in output pixels, and its corner."""

    width: int
    corner: Corner
    margin: int


def output_size(source: tuple[int, int], *, width: int | None, height: int | None,
                default_width: int | None) -> tuple[int, int]:
    """The output's even size, the source's aspect kept; ``default_width`` caps it when neither is given."""
    src_w, src_h = source
    aspect = src_w / src_h
    if width is not None and height is not None:
        if abs(width / aspect - height) > 2:
            raise RenderInputError("size", f"{width}x{height} changes the recording's aspect ({src_w}x{src_h}); "
                                           "give only a width or only a height")
    elif width is None and height is None:
        width = min(src_w, default_width) if default_width is not None else src_w
    if width is None:
        assert height is not None
        width = round(height * aspect)
    if height is None:
        height = round(width / aspect)
    width, height = max(MIN_SIZE, width - width % 2), max(MIN_SIZE, height - height % 2)
    return width, height


def _trim_filter(trim: Trim | None, prefix: str = "") -> str:
    if trim is None:
        return ""
    end = "" if trim.end is None else f":end={trim.end:.6f}"
    return f",{prefix}trim=start={trim.start:.6f}{end},{prefix}setpts=PTS-STARTPTS"


def decode_argv(*, ffmpeg_path: str, segments: Sequence[SegmentInput], size: tuple[int, int], fps: float,
                trim: Trim | None) -> list[str]:
    """Decode every segment in order, joined, trimmed and at ``fps``, as raw yuv420p frames on stdout."""
    # One decoding thread per input: decoding is a small share of the work (the encoder and the transform
    # need the cores), and frame threads cost memory (108 -> 83 MB at 1080p, measured).
    argv = [ffmpeg_path, "-hide_banner", "-nostdin", "-loglevel", "error", "-filter_complex_threads", "1"]
    for segment in segments:
        argv += ["-threads", "1", "-i", ffmpeg_file_url(segment.video)]
    inputs = "".join(f"[{index}:v]" for index in range(len(segments)))
    joined = f"{inputs}concat=n={len(segments)}:v=1:a=0" if len(segments) > 1 else "[0:v]null"
    width, height = size
    graph = (f"{joined},crop={width}:{height}:0:0{_trim_filter(trim)},fps={fps:g},format=yuv420p[v]")
    return [*argv, "-filter_complex", graph, "-map", "[v]", "-f", "rawvideo", "-pix_fmt", "yuv420p", "pipe:1"]


def _audio_graph(segments: Sequence[SegmentInput], first_input: int, trim: Trim | None) -> str:
    """Each segment's audio cut or padded to its video's length (so they stay in sync), joined, trimmed.

    A segment with several files (one per input: the microphone, the desktop) mixes them first, with
    their levels kept (``amix`` with ``normalize=0``, as the instant mode's mix).
    """
    parts = []
    number = first_input
    for offset, segment in enumerate(segments):
        d = f"{segment.duration_s:.6f}"
        fit = f"aresample=48000,atrim=end={d},apad=whole_dur={d},asetpts=PTS-STARTPTS"
        if len(segment.audio) == 1:
            parts.append(f"[{number}:a]{fit}[a{offset}]")
        else:
            labels = "".join(f"[{number + k}:a]" for k in range(len(segment.audio)))
            parts.append(f"{labels}amix=inputs={len(segment.audio)}:normalize=0:duration=longest,{fit}[a{offset}]")
        number += len(segment.audio)
    inputs = "".join(f"[a{offset}]" for offset in range(len(segments)))
    joined = f"{inputs}concat=n={len(segments)}:v=0:a=1" if len(segments) > 1 else "[a0]anull"
    return ";".join([*parts, f"{joined}{_trim_filter(trim, 'a')}[a]"])


def _camera_graph(segments: Sequence[SegmentInput], first_input: int, *, fps: float, trim: Trim | None,
                  camera: CameraOverlay, into: str, out: str) -> str:
    """The segments' camera tracks, each held on its last frame to its segment's length, joined, trimmed,
    scaled and drawn in their corner over ``into``: the filter graph labelled ``out``."""
    parts = []
    for offset, segment in enumerate(segments):
        d = f"{segment.duration_s:.6f}"
        parts.append(f"[{first_input + offset}:v]setpts=PTS-STARTPTS,fps={fps:g},tpad=stop_mode=clone:"
                     f"stop_duration={d},trim=end={d},setpts=PTS-STARTPTS[c{offset}]")
    inputs = "".join(f"[c{offset}]" for offset in range(len(segments)))
    joined = f"{inputs}concat=n={len(segments)}:v=1:a=0" if len(segments) > 1 else "[c0]null"
    x, y = camera_corner_xy(camera.corner, camera.margin)
    return ";".join([*parts, f"{joined}{_trim_filter(trim)},scale={camera.width}:-2,format=yuv420p[cam]",
                     f"[{into}][cam]overlay=x={x}:y={y}:eof_action=pass:shortest=0[{out}]"])


def encode_argv(*, ffmpeg_path: str, fmt: OutputFormat, size: tuple[int, int], fps: float, crf: int | None,
                preset: str, destination: Path, audio: Sequence[SegmentInput] = (), trim: Trim | None = None,
                palette: Path | None = None, camera: CameraOverlay | None = None,
                segments: Sequence[SegmentInput] = ()) -> list[str]:
    """Encode raw yuv420p frames from stdin (and the segments' audio) into ``destination``.

    For a GIF, ``palette`` None makes the palette (a PNG at ``destination``)
    and a palette makes the GIF. With ``camera``, the ``segments``' camera
    tracks are drawn over the frames in their corner (after the zoom: the
    camera stays put).
    """
    width, height = size
    argv = [ffmpeg_path, "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
            "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{width}x{height}", "-framerate", f"{fps:g}",
            "-i", "pipe:0"]
    url = ffmpeg_file_url(destination)
    graphs: list[str] = []
    picture = "0:v"
    if camera is not None:
        if any(segment.camera is None for segment in segments):
            raise ValueError("every segment needs its camera file")
        argv += [arg for segment in segments if segment.camera is not None
                 for arg in ("-i", ffmpeg_file_url(segment.camera))]
        graphs.append(_camera_graph(segments, 1, fps=fps, trim=trim, camera=camera, into=picture, out="vc"))
        picture = "vc"
    if fmt is OutputFormat.GIF and camera is None:
        if palette is None:
            return [*argv, "-vf", PALETTEGEN, "-frames:v", "1", "-update", "1", "-f", "image2", url]
        return [*argv, "-i", ffmpeg_file_url(palette), "-lavfi", f"[0:v][1:v]{PALETTEUSE}", "-loop", "0",
                "-f", "gif", url]
    if fmt is OutputFormat.GIF:
        if palette is None:
            graphs.append(f"[{picture}]{PALETTEGEN}[v]")
            return [*argv, "-filter_complex", ";".join(graphs), "-map", "[v]", "-frames:v", "1", "-update", "1",
                    "-f", "image2", url]
        graphs.append(f"[{picture}][{1 + len(segments)}:v]{PALETTEUSE}[v]")
        return [*argv, "-i", ffmpeg_file_url(palette), "-filter_complex", ";".join(graphs), "-map", "[v]",
                "-loop", "0", "-f", "gif", url]
    first_audio = 1 + (len(segments) if camera is not None else 0)
    for segment in audio:
        if not segment.audio:
            raise ValueError("every audio segment needs its audio files")
        argv += [arg for file in segment.audio for arg in ("-i", ffmpeg_file_url(file))]
    maps = ["-map", f"[{picture}]" if camera is not None else picture]
    if audio:
        graphs.append(_audio_graph(audio, first_audio, trim))
        maps += ["-map", "[a]"]
    if graphs:
        argv += ["-filter_complex", ";".join(graphs)]
    quality = str(crf if crf is not None else DEFAULT_CRF[str(fmt)])
    if fmt is OutputFormat.MP4:
        video = ["-c:v", "libx264", "-preset", preset, "-crf", quality, "-pix_fmt", "yuv420p",
                 "-movflags", "+faststart"]
    else:
        video = ["-c:v", "libvpx-vp9", "-crf", quality, "-b:v", "0", "-deadline", "realtime", "-cpu-used", "8",
                 "-row-mt", "1", "-pix_fmt", "yuv420p"]
    sound = ["-c:a", AUDIO_BITRATE[fmt][0], "-b:a", AUDIO_BITRATE[fmt][1]] if audio else []
    return [*argv, *maps, *video, *sound, "-f", str(fmt), url]
