"""What an encoder accepts and whether it works here, asked of FFmpeg before recording.

A preset FFmpeg does not know, or a hardware encoder without its hardware,
used to fail only once the capture had started, blamed on "the capture
device". FFmpeg can tell both up front: ``-h encoder=NAME`` lists an
encoder's named presets (cached per binary, see :mod:`caprec.capture.ffmpeg.probe_cache`),
and a one-frame test encode shows whether a hardware encoder opens.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Sequence

from caprec.capture.ffmpeg.probe_cache import ProbeCache, binary_key
from caprec.capture.ffmpeg.process import ToolResult, run_tool

# libx264's preset is a free string for FFmpeg (its help lists no values);
# these are x264's own names (x264_preset_names), as FFmpeg prints them on a bad one.
X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow",
                "placebo")
HELP_TIMEOUT_S = 10.0
# A one-frame encode of a tiny picture: how long a working hardware encoder may take to open.
TEST_ENCODE_TIMEOUT_S = 15.0
TEST_ENCODE_SIZE = "256x256"
# FFmpeg's summary lines that wrap the real reason printed before them.
GENERIC_LINES = (
    "error initializing output stream",
    "error while opening encoder",
    "conversion failed",
    "error opening output file",
    "nothing was written into output file",
    "could not open encoder before eof",
    "error while filtering",
    "task finished with error code",
    "terminating thread with return code",
)
_OPTION = re.compile(r"^\s{2}-(\S+)\s+<\w+>")
_CONSTANT = re.compile(r"^\s{5}(\S+)\s+(?:-?\d+\s+)?[E.][.A-Z]{2}V")
_LEVEL_TAG = re.compile(r"\[(?:error|fatal|panic|warning)\]\s*")
_CONTEXT = re.compile(r"\[([^\]@]+?) @ 0x[0-9a-fA-F]+\]")

Runner = Callable[..., ToolResult]


def parse_option_values(help_text: str, option: str) -> tuple[str, ...]:
    """The named constants ``-h encoder=NAME`` lists under ``-option`` (empty when it lists none)."""
    values: list[str] = []
    inside = False
    for line in help_text.splitlines():
        if (match := _OPTION.match(line)) is not None:
            inside = match.group(1) == option
            continue
        if inside and (constant := _CONSTANT.match(line)) is not None:
            values.append(constant.group(1))
        elif inside and line.strip():
            inside = False
    return tuple(values)


def encoder_presets(ffmpeg_path: str, codec: str, *, cache: ProbeCache | None = None,
                    runner: Runner = run_tool) -> tuple[str, ...]:
    """The presets ``codec`` accepts in the ffmpeg at ``ffmpeg_path``; empty when FFmpeg cannot tell."""
    if codec == "libx264":
        return X264_PRESETS
    key = binary_key(ffmpeg_path) if cache is not None else None
    if cache is not None and key is not None:
        known = (cache.get(key) or {}).get("presets", {})
        if isinstance(known, dict) and isinstance(known.get(codec), list):
            return tuple(str(value) for value in known[codec])
    try:
        result = runner([ffmpeg_path, "-hide_banner", "-h", f"encoder={codec}"], timeout=HELP_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired):
        return ()
    values = parse_option_values(result.stdout.decode("utf-8", "replace"), "preset")
    if cache is not None and key is not None and result.returncode == 0:
        presets = (cache.get(key) or {}).get("presets")
        cache.update(key, presets={**(presets if isinstance(presets, dict) else {}), codec: list(values)})
    return values


def most_specific_line(lines: Sequence[str]) -> str | None:
    """The line that says why FFmpeg failed: the last one that is not a generic wrapper."""
    cleaned = [_CONTEXT.sub(r"[\1]", _LEVEL_TAG.sub("", line)).strip() for line in lines if line.strip()]
    specific = [line for line in cleaned if not any(generic in line.lower() for generic in GENERIC_LINES)]
    chosen = specific or cleaned
    return chosen[-1] if chosen else None


def try_encoder(ffmpeg_path: str, codec: str, *, runner: Runner = run_tool) -> str | None:
    """Encode one tiny frame with ``codec``; None if it works, else FFmpeg's most specific reason."""
    argv = [ffmpeg_path, "-hide_banner", "-nostdin", "-loglevel", "level+warning", "-f", "lavfi",
            "-i", f"color=size={TEST_ENCODE_SIZE}:rate=1", "-frames:v", "1", "-c:v", codec, "-f", "null", "-"]
    try:
        result = runner(argv, timeout=TEST_ENCODE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return f"a test encode took longer than {TEST_ENCODE_TIMEOUT_S:g} s"
    except OSError as exc:
        return str(exc)
    if result.returncode == 0:
        return None
    lines = result.stderr.decode("utf-8", "replace").splitlines()
    return most_specific_line(lines) or f"ffmpeg exited with code {result.returncode}"
