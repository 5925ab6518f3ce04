"""The settings' parsers: (raw value, origin) -> value, each error naming the origin.

Raw values are text from a flag or a variable, or a value of one of the setting's TOML types.
"""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path

from caprec.capture.errors import SettingError
from caprec.capture.ffmpeg.argv import CRF_RANGE, SUPPORTED_CODECS
from caprec.capture.platform.audio_inputs import parse_audio_inputs
from caprec.capture.record.spec import Mode
from caprec.capture.units import (
    MAX_PIPE_BUFFER_BYTES,
    MIN_PIPE_BUFFER_BYTES,
    Region,
    format_bytes,
    parse_byte_size,
    parse_duration,
    parse_fps,
    parse_region,
)
from caprec.settings.origins import RawValue

SOURCES = ("screen", "test", "ddagrab")
MIN_CURSOR_FLUSH_S = 0.05
MAX_CURSOR_FLUSH_S = 60.0
MAX_DELAY_S = 3600.0
#: ``--audio none`` (or the variable, or the config key) records no audio.
AUDIO_NONE = "none"
#: Packets FFmpeg may queue per capture input (and, FFmpeg 7+, per output).
#: Beyond 2048 a queue of raw 1080p frames (8 MB each) could pin 16 GB.
QUEUE_SIZE_RANGE = (1, 2048)
_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+")
_TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
_FALSE_WORDS = frozenset({"0", "false", "no", "off"})
# A duration of zero in any spelling ("0s", "00:00", "0h0m"): no delay.
_ZERO_DURATION = re.compile(r"(?=.*0)[0.:hms]+")


# Parsers: (raw value, origin) -> value. Raw values are text from a flag or a
# variable, or a value of one of the setting's TOML types.

def parse_text(raw: RawValue, origin: str) -> str:
    """Any non-empty text."""
    text = str(raw)
    if not text.strip():
        raise SettingError(origin, "is empty; give a value or leave the setting out")
    return text


def parse_bool(raw: RawValue, origin: str) -> bool:
    """A yes/no value: ``1/0``, ``true/false``, ``yes/no``, ``on/off`` (any case)."""
    if isinstance(raw, bool):
        return raw
    word = str(raw).strip().lower()
    if word in _TRUE_WORDS:
        return True
    if word in _FALSE_WORDS:
        return False
    raise SettingError(origin, f"{raw!r} is not a yes/no value; use 1 or 0, true or false, yes or no, on or off")


def parse_source(raw: RawValue, origin: str) -> str:
    """``screen``, ``test`` or ``ddagrab`` (Windows' Desktop Duplication, FFmpeg 6+)."""
    if raw not in SOURCES:
        raise SettingError(origin, f"{raw!r} is not a source; use one of {', '.join(SOURCES)}")
    return str(raw)


def parse_codec(raw: RawValue, origin: str) -> str:
    """One of :data:`caprec.capture.ffmpeg.argv.SUPPORTED_CODECS`."""
    if raw not in SUPPORTED_CODECS:
        raise SettingError(origin, f"{raw!r} is not supported; use one of {', '.join(sorted(SUPPORTED_CODECS))}")
    return str(raw)


def parse_crf(raw: RawValue, origin: str) -> int:
    """A whole number in :data:`caprec.capture.ffmpeg.argv.CRF_RANGE`."""
    low, high = CRF_RANGE
    if isinstance(raw, bool | float):
        raise SettingError(origin, f"{raw!r} is not a whole number; use {low} (best) to {high} (smallest)")
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise SettingError(origin, f"{raw!r} is not a whole number; use {low} (best) to {high} (smallest)") from None
    if not low <= value <= high:
        raise SettingError(origin, f"{value} is out of range; use {low} (best) to {high} (smallest)")
    return value


def _parse_seconds(raw: RawValue, origin: str, *, low: float, high: float, example: str) -> float:
    if isinstance(raw, bool):
        raise SettingError(origin, f"{raw!r} is not a number of seconds; use e.g. {example}")
    try:
        value = float(str(raw).strip())
    except ValueError:
        raise SettingError(origin, f"{raw!r} is not a number of seconds; use e.g. {example}") from None
    if not (math.isfinite(value) and low <= value <= high):
        raise SettingError(origin, f"{raw!r} is out of range; use {low:g} to {high:g} seconds")
    return value


def parse_cursor_flush(raw: RawValue, origin: str) -> float:
    """Seconds between cursor log flushes, :data:`MIN_CURSOR_FLUSH_S` to :data:`MAX_CURSOR_FLUSH_S`."""
    return _parse_seconds(raw, origin, low=MIN_CURSOR_FLUSH_S, high=MAX_CURSOR_FLUSH_S, example="1 or 0.5")


def parse_delay(raw: RawValue, origin: str) -> float:
    """Seconds to wait before recording, 0 to :data:`MAX_DELAY_S`: a number, or a duration (``1m30s``, ``00:01:30``).

    The flag, the variable, the config key and a batch plan's ``delay`` all parse here (one range for all).
    """
    if isinstance(raw, bool):
        raise SettingError(origin, f"{raw!r} is not a delay; use seconds (3) or a duration such as 1m30s")
    text = str(raw).strip()
    try:
        value = float(text)
    except ValueError:
        # parse_duration wants more than zero; "0s" and "00:00" mean no delay.
        value = 0.0 if _ZERO_DURATION.fullmatch(text) else parse_duration(text, origin=origin)
    if not (math.isfinite(value) and 0.0 <= value <= MAX_DELAY_S):
        raise SettingError(origin, f"{raw!r} is out of range; use 0 to {MAX_DELAY_S:g} seconds")
    return value


def parse_fps_setting(raw: RawValue, origin: str) -> float:
    """A frame rate (see :func:`caprec.capture.units.parse_fps`)."""
    if isinstance(raw, bool):
        raise SettingError(origin, f"{raw!r} is not a number; use a frame rate such as 30")
    return parse_fps(raw, origin=origin)


def parse_duration_setting(raw: RawValue, origin: str) -> float:
    """A duration; a TOML number is seconds (see :func:`caprec.capture.units.parse_duration`)."""
    if isinstance(raw, bool):
        raise SettingError(origin, f"{raw!r} is not a duration; use seconds (90), 1m30s or 00:01:30")
    if isinstance(raw, int | float) and not raw > 0:
        raise SettingError(origin, f"{raw!r} must be longer than zero; use e.g. 5 or 1m30s")
    return parse_duration(str(raw), origin=origin)


def parse_region_setting(raw: RawValue, origin: str) -> Region:
    """A region ``WxH+X+Y`` (see :func:`caprec.capture.units.parse_region`)."""
    return parse_region(str(raw), origin=origin)


PIPE_BUFFER_RANGE_TEXT = f"{format_bytes(MIN_PIPE_BUFFER_BYTES)} to {format_bytes(MAX_PIPE_BUFFER_BYTES)}"
QUEUE_SIZE_RANGE_TEXT = f"{QUEUE_SIZE_RANGE[0]} to {QUEUE_SIZE_RANGE[1]} packets"


def parse_pipe_buffer(raw: RawValue, origin: str) -> int:
    """A pipe buffer size in bytes, :data:`caprec.capture.units.MIN_PIPE_BUFFER_BYTES` to
    :data:`caprec.capture.units.MAX_PIPE_BUFFER_BYTES` (``65536``, ``512KiB``, ``1MiB``).

    Every error names the accepted range.
    """
    not_a_size = f"{raw!r} is not a size; use {PIPE_BUFFER_RANGE_TEXT}, in bytes or with a unit: 512KiB, 1MiB"
    if isinstance(raw, bool):
        raise SettingError(origin, not_a_size)
    try:
        # Unbounded here, so that the only error is "not a size"; the range is checked below.
        size = parse_byte_size(raw if isinstance(raw, int) else str(raw), origin=origin, minimum=0,
                               maximum=sys.maxsize)
    except SettingError:
        raise SettingError(origin, not_a_size) from None
    if not MIN_PIPE_BUFFER_BYTES <= size <= MAX_PIPE_BUFFER_BYTES:
        raise SettingError(origin, f"{raw!r} is out of range; use {PIPE_BUFFER_RANGE_TEXT}")
    return size


def parse_queue_size(raw: RawValue, origin: str) -> int:
    """A packet count in :data:`QUEUE_SIZE_RANGE` (FFmpeg's ``-thread_queue_size``)."""
    low, high = QUEUE_SIZE_RANGE
    if isinstance(raw, int) and not isinstance(raw, bool):
        value = raw
    elif isinstance(raw, str) and _WHOLE_NUMBER.fullmatch(raw.strip()):
        value = int(raw.strip())
    else:
        raise SettingError(origin, f"{raw!r} is not a whole number; use {QUEUE_SIZE_RANGE_TEXT}")
    if not low <= value <= high:
        raise SettingError(origin, f"{raw!r} is out of range; use {QUEUE_SIZE_RANGE_TEXT}")
    return value


def parse_mode(raw: RawValue, origin: str) -> Mode:
    """``instant`` or ``studio`` (any case)."""
    word = str(raw).strip().lower()
    for mode in Mode:
        if word == mode.value:
            return mode
    raise SettingError(origin, f"{raw!r} is not a mode; use {' or '.join(m.value for m in Mode)}")


def parse_audio_setting(raw: RawValue, origin: str) -> str | None:
    """Audio inputs for this platform, a comma list, or None for ``none``.

    See :mod:`caprec.capture.platform.audio_inputs`.

    The value kept is the text as given (stripped); the plan maps it to an
    :class:`caprec.capture.ffmpeg.argv.AudioSource`.
    """
    text = parse_text(raw, origin).strip()
    if text.lower() == AUDIO_NONE:
        return None
    parse_audio_inputs([text], platform=sys.platform, origin=origin)
    return text


def parse_directory(raw: RawValue, origin: str) -> Path:
    """A directory path (``~`` expanded); whether it exists is checked where it is used."""
    return Path(parse_text(raw, origin)).expanduser()


def parse_optional_text(raw: RawValue, origin: str) -> str:
    """Text as given (flag-only options such as ``--output``), but not empty.

    ``-o "$OUT"`` with ``OUT`` unset must not quietly record to the default name.
    """
    text = str(raw)
    if not text:
        raise SettingError(origin, "is empty; give a file name ('-' for stdout) or leave the option out")
    return text

