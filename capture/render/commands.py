"""Pure functions that build the FFmpeg command lines of a render (argv lists, never a shell string)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from capture.ffmpeg.finish import ffmpeg_file_url
from capture.render.spec import DEFAULT_CRF, OutputFormat, RenderInputError, Trim

AUDIO_BITRATE = {OutputFormat.MP4: ("aac", "160k"), OutputFormat.WEBM: ("libopus", "128k")}
# GIF: a palette generated from the whole render, then dithered with it.
PALETTEGEN = "palettegen=stats_mode=full:max_colors=256"
PALETTEUSE = "paletteuse=dither=sierra2_4a"
MIN_SIZE = 16


@dataclass(frozen=True)
class SegmentInput:
    """One segment's files and recorded length, as the command builders need them."""

    video: Path
    audio: Path | None
    duration_s: float


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
    """Each segment's audio cut or padded to its video's length (so they stay in sync), joined, trimmed."""
    parts = []
    for offset, segment in enumerate(segments):
        d = f"{segment.duration_s:.6f}"
        parts.append(f"[{first_input + offset}:a]aresample=48000,atrim=end={d},apad=whole_dur={d},"
                     f"asetpts=PTS-STARTPTS[a{offset}]")
    inputs = "".join(f"[a{offset}]" for offset in range(len(segments)))
    joined = f"{inputs}concat=n={len(segments)}:v=0:a=1" if len(segments) > 1 else "[a0]anull"
    return ";".join([*parts, f"{joined}{_trim_filter(trim, 'a')}[a]"])


def encode_argv(*, ffmpeg_path: str, fmt: OutputFormat, size: tuple[int, int], fps: float, crf: int | None,
                preset: str, destination: Path, audio: Sequence[SegmentInput] = (), trim: Trim | None = None,
                palette: Path | None = None) -> list[str]:
    """Encode raw yuv420p frames from stdin (and the segments' audio) into ``destination``.

    For a GIF, ``palette`` None makes the palette (a PNG at ``destination``)
    and a palette makes the GIF.
    """
    width, height = size
    argv = [ffmpeg_path, "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
            "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{width}x{height}", "-framerate", f"{fps:g}",
            "-i", "pipe:0"]
    url = ffmpeg_file_url(destination)
    if fmt is OutputFormat.GIF:
        if palette is None:
            return [*argv, "-vf", PALETTEGEN, "-frames:v", "1", "-update", "1", "-f", "image2", url]
        return [*argv, "-i", ffmpeg_file_url(palette), "-lavfi", f"[0:v][1:v]{PALETTEUSE}", "-loop", "0",
                "-f", "gif", url]
    for segment in audio:
        if segment.audio is None:
            raise ValueError("every audio segment needs its audio file")
        argv += ["-i", ffmpeg_file_url(segment.audio)]
    maps = ["-map", "0:v"]
    if audio:
        argv += ["-filter_complex", _audio_graph(audio, 1, trim)]
        maps += ["-map", "[a]"]
    quality = str(crf if crf is not None else DEFAULT_CRF[str(fmt)])
    if fmt is OutputFormat.MP4:
        video = ["-c:v", "libx264", "-preset", preset, "-crf", quality, "-pix_fmt", "yuv420p",
                 "-movflags", "+faststart"]
    else:
        video = ["-c:v", "libvpx-vp9", "-crf", quality, "-b:v", "0", "-deadline", "realtime", "-cpu-used", "8",
                 "-row-mt", "1", "-pix_fmt", "yuv420p"]
    sound = ["-c:a", AUDIO_BITRATE[fmt][0], "-b:a", AUDIO_BITRATE[fmt][1]] if audio else []
    return [*argv, *maps, *video, *sound, "-f", str(fmt), url]
