"""Every ``caprec record`` setting in one table, and how its value is chosen.

A setting's value comes from, first match wins: its command-line flag, its
environment variable(s) in order, the ``[record]`` table of the config file,
the built-in default. :func:`resolve_settings` returns each value with its
:class:`Origin` (``--fps``, ``CAPREC_FPS``, ``config <path>``, ``default``),
so a message or a dry run can say where it came from. Every parser receives
the origin, so its error names the culprit::

    CAPREC_FPS: 'abc' is not a number; use a frame rate such as 30

A setting lists its variables as a tuple checked in order. The recording
mode (``--mode``, ``CAPREC_MODE``) is resolved first; a setting with
:attr:`Setting.mode_defaults` is then resolved as :meth:`Setting.for_mode`
makes it: the mode's own variable in front (``CAPREC_QUEUE_SIZE_STUDIO``
before ``CAPREC_QUEUE_SIZE``) and the mode's default. The other mode's
variable is not read at all::

    --queue-size > CAPREC_QUEUE_SIZE_<MODE> > CAPREC_QUEUE_SIZE > config queue_size > the mode's default
"""

from __future__ import annotations

import enum
import math
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, Generic, TypeVar, cast

import tomli_w

from capture.cursor.writer import DEFAULT_FLUSH_INTERVAL
from capture.errors import SettingError
from capture.ffmpeg.argv import CRF_RANGE, DEFAULT_CODEC, DEFAULT_FPS, SUPPORTED_CODECS
from capture.ffmpeg.binary import ENV_FFMPEG
from capture.platform.audio_inputs import parse_audio_inputs
from capture.record.pump import DEFAULT_PIPE_BUFFER
from capture.record.session import Mode
from capture.units import (
    MAX_PIPE_BUFFER_BYTES,
    MIN_PIPE_BUFFER_BYTES,
    Region,
    format_bytes,
    parse_byte_size,
    parse_duration,
    parse_fps,
    parse_region,
)
from cli.settings.suggest import did_you_mean

T = TypeVar("T")

#: What a flag, an environment variable or a TOML value can hold.
RawValue = str | int | float | bool

#: The config file table that holds ``caprec record``'s settings.
CONFIG_TABLE = "record"
ENV_PREFIX = "CAPREC_"

SOURCES = ("screen", "test", "ddagrab")
DEFAULT_SOURCE = "screen"
MIN_CURSOR_FLUSH_S = 0.05
MAX_CURSOR_FLUSH_S = 60.0
MAX_DELAY_S = 3600.0
DEFAULT_MODE = Mode.INSTANT
#: ``--audio none`` (or the variable, or the config key) records no audio.
AUDIO_NONE = "none"
#: Packets FFmpeg may queue per capture input (and, FFmpeg 7+, per output).
#: Beyond 2048 a queue of raw 1080p frames (8 MB each) could pin 16 GB.
QUEUE_SIZE_RANGE = (1, 2048)
#: Each mode's default queue size (see benchmarks/queue_size.py for the figures).
DEFAULT_QUEUE_SIZE_INSTANT = 96
DEFAULT_QUEUE_SIZE_STUDIO = 240
_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+")
_TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
_FALSE_WORDS = frozenset({"0", "false", "no", "off"})
_TOML_TYPE_NAMES: dict[type, str] = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}


class OriginKind(enum.StrEnum):
    """Where a setting's value came from, strongest first."""

    FLAG = "flag"
    ENV = "env"
    CONFIG = "config"
    DEFAULT = "default"


@dataclass(frozen=True)
class Origin:
    """Where one value came from: a flag, a variable, a config key, or the default.

    ``str(origin)`` is the short label (``--fps``, ``CAPREC_FPS``,
    ``config /home/me/.config/caprec/config.toml``, ``default``);
    :attr:`culprit` is what an error message names (for a config value, the
    key and the file).
    """

    kind: OriginKind
    name: str = ""
    path: Path | None = None

    def __str__(self) -> str:
        if self.kind is OriginKind.CONFIG:
            return f"config {self.path}"
        if self.kind is OriginKind.DEFAULT:
            return "default"
        return self.name

    @property
    def culprit(self) -> str:
        """The flag, the variable, or ``record.<key> in <file>``."""
        if self.kind is OriginKind.CONFIG:
            return f"{CONFIG_TABLE}.{self.name} in {self.path}"
        return str(self)


DEFAULT_ORIGIN = Origin(OriginKind.DEFAULT)


@dataclass(frozen=True)
class ModeDefault(Generic[T]):
    """A setting's default in one recording mode, and how it reads in help."""

    mode: Mode
    value: T
    text: str


def mode_variable(name: str, mode: Mode) -> str:
    """``CAPREC_QUEUE_SIZE`` in studio mode -> ``CAPREC_QUEUE_SIZE_STUDIO``."""
    return f"{name}_{mode.value.upper()}"


@dataclass(frozen=True)
class Setting(Generic[T]):
    """One ``caprec record`` option.

    ``parse`` turns a raw value (the text of a flag or variable, or a typed
    TOML value) into the setting's value, raising :class:`SettingError`
    with the origin it is given. ``env`` lists the variables checked in
    order; an empty tuple (and ``configurable=False``) makes the option
    flag-only. ``toml_types`` are the TOML types the config file may use.
    ``example`` is a valid value used in messages; ``summary`` and
    ``default_text`` describe the option for help and ``caprec config show``.

    A setting with ``mode_defaults`` depends on the recording mode: see
    :meth:`for_mode`; ``mode`` is set on the copy it returns. ``accepts``
    describes the valid values when an empty variable is reported (e.g.
    ``1 to 2048 packets``); ``show`` formats a value for a dry run;
    ``in_init`` says whether ``caprec config init`` writes the default.
    """

    key: str
    flag: str
    parse: Callable[[RawValue, str], T]
    default: T
    summary: str
    default_text: str
    example: RawValue
    env: tuple[str, ...] = ()
    configurable: bool = True
    toml_types: tuple[type, ...] = (str,)
    mode_defaults: tuple[ModeDefault[T], ...] = ()
    mode: Mode | None = None
    accepts: str = ""
    show: Callable[[T], str] | None = None
    in_init: bool = True

    @property
    def per_mode(self) -> bool:
        """True when the mode chooses this setting's variable and default."""
        return bool(self.mode_defaults)

    @property
    def all_env(self) -> tuple[str, ...]:
        """Every variable that can set this setting in some mode, per-mode ones first (for help)."""
        if not self.per_mode or self.mode is not None:
            return self.env
        return (*(mode_variable(self.env[0], d.mode) for d in self.mode_defaults), *self.env)

    def for_mode(self, mode: Mode) -> Setting[T]:
        """The setting as it applies in ``mode``.

        Its variables become the mode's own (``CAPREC_X_STUDIO``) then the
        shared ones, and its default the mode's. A setting without
        ``mode_defaults``, or one already bound to a mode, is returned as is.
        """
        if not self.per_mode or self.mode is not None:
            return self
        default = next(d for d in self.mode_defaults if d.mode is mode)
        return replace(self, env=(mode_variable(self.env[0], mode), *self.env), default=default.value,
                       default_text=default.text, mode=mode)

    def format(self, value: T) -> str:
        """``value`` as a dry run prints it: ``1MiB``, ``30``, ``until stopped`` for None."""
        if value is None:
            return self.default_text
        if self.show is not None:
            return self.show(value)
        if isinstance(value, bool):
            return str(value).lower()
        if isinstance(value, float):
            return f"{value:g}"
        return str(value)

    @property
    def example_text(self) -> str:
        """The example as typed on a command line or in a variable."""
        return str(self.example).lower() if isinstance(self.example, bool) else str(self.example)

    @property
    def example_toml(self) -> str:
        """The example as a config file line, e.g. ``fps = 30``."""
        return tomli_w.dumps({self.key: self.example}).strip()

    @property
    def expects(self) -> str:
        """The accepted TOML types in words: ``a number or a string``."""
        kinds = [kind for kind in self.toml_types if not (kind is int and float in self.toml_types)]
        return " or ".join(_TOML_TYPE_NAMES[kind] for kind in kinds)


@dataclass(frozen=True)
class ResolvedValue(Generic[T]):
    """A setting's value, where it came from, and the raw value as given (None for a default)."""

    setting: Setting[T]
    value: T
    origin: Origin
    raw: RawValue | None = None


@dataclass(frozen=True)
class ConfigValues:
    """The ``[record]`` table of a config file (empty when the file does not exist)."""

    path: Path
    values: Mapping[str, RawValue] = field(default_factory=dict)
    exists: bool = False


@dataclass(frozen=True)
class ResolvedSettings:
    """Every setting's resolved value, in table order."""

    entries: tuple[ResolvedValue[Any], ...]
    config: ConfigValues | None = None

    def __iter__(self) -> Iterator[ResolvedValue[Any]]:
        return iter(self.entries)

    def entry(self, setting: Setting[T]) -> ResolvedValue[T]:
        """The resolved value of ``setting`` with its origin."""
        for entry in self.entries:
            if entry.setting.key == setting.key:
                return entry
        raise KeyError(setting.key)

    def get(self, setting: Setting[T]) -> T:
        """The value of ``setting``."""
        return self.entry(setting).value

    def origin(self, setting: Setting[T]) -> Origin:
        """Where the value of ``setting`` came from."""
        return self.entry(setting).origin

    def culprit(self, setting: Setting[T]) -> str:
        """What an error about ``setting`` names: its flag, variable or config key (:attr:`Origin.culprit`)."""
        return self.origin(setting).culprit


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
    """One of :data:`capture.ffmpeg.argv.SUPPORTED_CODECS`."""
    if raw not in SUPPORTED_CODECS:
        raise SettingError(origin, f"{raw!r} is not supported; use one of {', '.join(sorted(SUPPORTED_CODECS))}")
    return str(raw)


def parse_crf(raw: RawValue, origin: str) -> int:
    """A whole number in :data:`capture.ffmpeg.argv.CRF_RANGE`."""
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
    """Seconds to wait before recording, 0 to :data:`MAX_DELAY_S`."""
    return _parse_seconds(raw, origin, low=0.0, high=MAX_DELAY_S, example="3")


def parse_fps_setting(raw: RawValue, origin: str) -> float:
    """A frame rate (see :func:`capture.units.parse_fps`)."""
    if isinstance(raw, bool):
        raise SettingError(origin, f"{raw!r} is not a number; use a frame rate such as 30")
    return parse_fps(raw, origin=origin)


def parse_duration_setting(raw: RawValue, origin: str) -> float:
    """A duration; a TOML number is seconds (see :func:`capture.units.parse_duration`)."""
    if isinstance(raw, bool):
        raise SettingError(origin, f"{raw!r} is not a duration; use seconds (90), 1m30s or 00:01:30")
    if isinstance(raw, int | float) and not raw > 0:
        raise SettingError(origin, f"{raw!r} must be longer than zero; use e.g. 5 or 1m30s")
    return parse_duration(str(raw), origin=origin)


def parse_region_setting(raw: RawValue, origin: str) -> Region:
    """A region ``WxH+X+Y`` (see :func:`capture.units.parse_region`)."""
    return parse_region(str(raw), origin=origin)


PIPE_BUFFER_RANGE_TEXT = f"{format_bytes(MIN_PIPE_BUFFER_BYTES)} to {format_bytes(MAX_PIPE_BUFFER_BYTES)}"
QUEUE_SIZE_RANGE_TEXT = f"{QUEUE_SIZE_RANGE[0]} to {QUEUE_SIZE_RANGE[1]} packets"


def parse_pipe_buffer(raw: RawValue, origin: str) -> int:
    """A pipe buffer size in bytes, :data:`capture.units.MIN_PIPE_BUFFER_BYTES` to
    :data:`capture.units.MAX_PIPE_BUFFER_BYTES` (``65536``, ``512KiB``, ``1MiB``).

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
    """Audio inputs for this platform, a comma list (see :mod:`capture.platform.audio_inputs`), or None for ``none``.

    The value kept is the text as given (stripped); the plan maps it to an
    :class:`capture.ffmpeg.argv.AudioSource`.
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


def _env(key: str) -> tuple[str, ...]:
    return (ENV_PREFIX + key.upper(),)


def _size_text(size: int) -> str:
    """``1048576`` -> ``1MiB``, as typed on a command line."""
    for unit, factor in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size % factor == 0:
            return f"{size // factor}{unit}"
    return str(size)


# The table. Flag-only options (output, overwrite, quiet, dry run) are listed
# too, so that the table describes every option of ``caprec record``.
SOURCE: Setting[str] = Setting(
    key="source", flag="--source", parse=parse_source, default=DEFAULT_SOURCE, env=_env("source"),
    summary="screen, test (a synthetic pattern) or ddagrab (Windows, FFmpeg 6+)", default_text=DEFAULT_SOURCE,
    example="test")
FPS: Setting[float] = Setting(
    key="fps", flag="--fps", parse=parse_fps_setting, default=DEFAULT_FPS, env=_env("fps"),
    toml_types=(int, float, str), summary="frames per second", default_text=f"{DEFAULT_FPS:g}", example=30)
DURATION: Setting[float | None] = Setting(
    key="duration", flag="--duration", parse=parse_duration_setting, default=None, env=_env("duration"),
    toml_types=(int, float, str), summary="stop after this long", default_text="until stopped",
    example="1m30s")
REGION: Setting[Region | None] = Setting(
    key="region", flag="--region", parse=parse_region_setting, default=None, env=_env("region"),
    summary="part of the screen, WxH+X+Y", default_text="whole screen", example="1280x720+0+0")
CODEC: Setting[str] = Setting(
    key="codec", flag="--codec", parse=parse_codec, default=DEFAULT_CODEC, env=_env("codec"),
    summary="video encoder", default_text=DEFAULT_CODEC, example=DEFAULT_CODEC)
PRESET: Setting[str | None] = Setting(
    key="preset", flag="--preset", parse=parse_text, default=None, env=_env("preset"),
    summary="encoder preset", default_text="the codec's (veryfast for libx264)", example="veryfast")
CRF: Setting[int | None] = Setting(
    key="crf", flag="--crf", parse=parse_crf, default=None, env=_env("crf"), toml_types=(int, str),
    summary=f"constant quality, {CRF_RANGE[0]} best to {CRF_RANGE[1]} smallest",
    default_text="the codec's (23 for libx264)", example=23)
DISPLAY: Setting[str | None] = Setting(
    key="display", flag="--display", parse=parse_text, default=None, env=_env("display"),
    summary="X display (macOS: screen device)", default_text="$DISPLAY", example=":0")
FFMPEG: Setting[str | None] = Setting(
    key="ffmpeg", flag="--ffmpeg", parse=parse_text, default=None, env=(ENV_FFMPEG,),
    summary="the ffmpeg binary", default_text="PATH, then imageio-ffmpeg", example="/usr/bin/ffmpeg")
PIPE_BUFFER: Setting[int] = Setting(
    key="pipe_buffer", flag="--pipe-buffer", parse=parse_pipe_buffer, default=DEFAULT_PIPE_BUFFER,
    env=_env("pipe_buffer"), toml_types=(int, str), summary="pipe buffer between ffmpeg and caprec",
    default_text=_size_text(DEFAULT_PIPE_BUFFER), example="1MiB", show=_size_text,
    accepts=f"a size from {PIPE_BUFFER_RANGE_TEXT}",
    mode_defaults=tuple(ModeDefault(mode, DEFAULT_PIPE_BUFFER, _size_text(DEFAULT_PIPE_BUFFER)) for mode in Mode))
CURSOR: Setting[bool | None] = Setting(
    key="cursor", flag="--cursor/--no-cursor", parse=parse_bool, default=None, env=_env("cursor"), toml_types=(bool,),
    summary="log the mouse to <output>.cursor.ndjson", default_text="off; studio mode: on for the screen",
    example=True)
CURSOR_FLUSH: Setting[float] = Setting(
    key="cursor_flush", flag="--cursor-flush", parse=parse_cursor_flush, default=DEFAULT_FLUSH_INTERVAL,
    env=_env("cursor_flush"), toml_types=(int, float, str), summary="seconds between cursor log flushes",
    default_text=f"{DEFAULT_FLUSH_INTERVAL:g}", example=1)
OUTPUT_DIR: Setting[Path | None] = Setting(
    key="output_dir", flag="--output-dir", parse=parse_directory, default=None, env=_env("output_dir"),
    summary="directory for default-named recordings", default_text="the current directory",
    example="~/Videos")
DELAY: Setting[float] = Setting(
    key="delay", flag="--delay", parse=parse_delay, default=0.0, env=_env("delay"),
    toml_types=(int, float, str), summary=f"countdown before recording starts, 0 to {MAX_DELAY_S:g} s",
    default_text="0", example=3)
# The mode is resolved before every other setting: it picks their per-mode
# variables and defaults. config init leaves it out, so that a fresh config
# file does not choose a mode.
MODE: Setting[Mode] = Setting(
    key="mode", flag="--mode", parse=parse_mode, default=DEFAULT_MODE, env=_env("mode"),
    summary="instant (one MP4, pointer drawn in) or studio (a bundle directory for editing)",
    default_text=DEFAULT_MODE.value, example=Mode.STUDIO.value, in_init=False)
AUDIO: Setting[str | None] = Setting(
    key="audio", flag="--audio", parse=parse_audio_setting, default=None, env=_env("audio"),
    summary="audio inputs, a comma list: mic, desktop, test; Linux: a PulseAudio source, pulse:NAME, alsa:NAME; "
            "macOS: an avfoundation index or name; Windows: a DirectShow device; none",
    default_text=AUDIO_NONE, example="test")
QUEUE_SIZE: Setting[int] = Setting(
    key="queue_size", flag="--queue-size", parse=parse_queue_size, default=DEFAULT_QUEUE_SIZE_INSTANT,
    env=_env("queue_size"), toml_types=(int, str), example=DEFAULT_QUEUE_SIZE_INSTANT,
    summary="packets FFmpeg may queue per capture input (FFmpeg 7+: per output too)",
    default_text=f"{DEFAULT_QUEUE_SIZE_INSTANT} instant, {DEFAULT_QUEUE_SIZE_STUDIO} studio",
    accepts=f"a whole number from {QUEUE_SIZE_RANGE_TEXT}", in_init=False,
    mode_defaults=(ModeDefault(Mode.INSTANT, DEFAULT_QUEUE_SIZE_INSTANT, str(DEFAULT_QUEUE_SIZE_INSTANT)),
                   ModeDefault(Mode.STUDIO, DEFAULT_QUEUE_SIZE_STUDIO, str(DEFAULT_QUEUE_SIZE_STUDIO))))
OUTPUT: Setting[str | None] = Setting(
    key="output", flag="--output", parse=parse_optional_text, default=None, configurable=False,
    summary="output file ('-' for stdout), or the studio bundle directory",
    default_text="caprec-YYYYmmdd-HHMMSS.mp4 (studio: .caprec)", example="talk.mp4")
OVERWRITE: Setting[bool] = Setting(
    key="overwrite", flag="--overwrite", parse=parse_bool, default=False, configurable=False,
    summary="replace an existing output", default_text="off", example=True)
QUIET: Setting[bool] = Setting(
    key="quiet", flag="--quiet", parse=parse_bool, default=False, configurable=False,
    summary="print nothing but errors", default_text="off", example=True)
DRY_RUN: Setting[bool] = Setting(
    key="dry_run", flag="--dry-run", parse=parse_bool, default=False, configurable=False,
    summary="print the ffmpeg command and exit", default_text="off", example=True)

SETTINGS: tuple[Setting[Any], ...] = (
    SOURCE, FPS, DURATION, REGION, CODEC, PRESET, CRF, DISPLAY, FFMPEG, PIPE_BUFFER, CURSOR, CURSOR_FLUSH,
    OUTPUT_DIR, DELAY, MODE, AUDIO, QUEUE_SIZE, OUTPUT, OVERWRITE, QUIET, DRY_RUN,
)


def configurable_settings(settings: Sequence[Setting[Any]] = SETTINGS) -> tuple[Setting[Any], ...]:
    """The settings a config file and variables may set, in table order."""
    return tuple(setting for setting in settings if setting.configurable)


def find_setting(key: str, settings: Sequence[Setting[Any]] = SETTINGS) -> Setting[Any] | None:
    """The configurable setting called ``key`` (``pipe-buffer`` is accepted for ``pipe_buffer``)."""
    wanted = key.strip().replace("-", "_")
    return next((s for s in configurable_settings(settings) if s.key == wanted), None)


def known_keys(settings: Sequence[Setting[Any]] = SETTINGS) -> str:
    """The config keys, comma-separated, for messages."""
    return ", ".join(setting.key for setting in configurable_settings(settings))


def describe_toml(value: object) -> str:
    """How a TOML value reads in a message: ``the boolean true``, ``an array``."""
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int):
        return f"the integer {value}"
    if isinstance(value, float):
        return f"the number {value:g}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, datetime | date | time):
        return "a date or time"
    return f"a {type(value).__name__}"


def parse_config_value(setting: Setting[T], raw: object, *, path: Path) -> T:
    """Check a TOML value's type, then parse it; errors name the key and the file."""
    origin = Origin(OriginKind.CONFIG, setting.key, path)
    if type(raw) not in setting.toml_types:
        raise SettingError(origin.culprit, f"must be {setting.expects} (e.g. {setting.example_toml}), "
                                           f"not {describe_toml(raw)}")
    return setting.parse(cast(RawValue, raw), origin.culprit)


def check_config_table(table: Mapping[str, object], *, path: Path,
                       settings: Sequence[Setting[Any]] = SETTINGS) -> ConfigValues:
    """Validate a config file's ``[record]`` table: known keys, TOML types, values.

    Raises :class:`SettingError` naming the key and the file.
    """
    values: dict[str, RawValue] = {}
    for key, raw in table.items():
        setting = next((s for s in configurable_settings(settings) if s.key == key), None)
        if setting is None:
            keys = [s.key for s in configurable_settings(settings)]
            raise SettingError(str(path), f"unknown key {key!r} in [{CONFIG_TABLE}]{did_you_mean(key, keys)}; "
                                          f"known keys: {known_keys(settings)}")
        parse_config_value(setting, raw, path=path)
        values[key] = cast(RawValue, raw)  # one of the setting's TOML types, checked just above
    return ConfigValues(path=path, values=values, exists=True)


def text_to_toml(setting: Setting[Any], text: str) -> RawValue:
    """The TOML value to store for ``text`` typed on a command line (``caprec config set``).

    ``30`` becomes the integer 30 for ``fps``, ``yes`` the boolean true for
    ``cursor``, ``1m30s`` stays a string. The result is validated with the
    setting's parser; errors name the key.
    """
    stripped = text.strip()
    value: RawValue = text
    if bool in setting.toml_types:
        value = parse_bool(text, setting.key)
    elif int in setting.toml_types and _is_int(stripped):
        value = int(stripped)
    elif float in setting.toml_types and _is_float(stripped):
        value = float(stripped)
    if type(value) not in setting.toml_types:
        raise SettingError(setting.key, f"{text!r} is not valid; use {setting.expects}, e.g. {setting.example_text}")
    setting.parse(value, setting.key)
    return value


def _is_int(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


def _is_float(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def resolve_setting(setting: Setting[T], *, flag: RawValue | None, environ: Mapping[str, str],
                    config: ConfigValues | None, defaults: Mapping[str, Any] | None = None) -> ResolvedValue[T]:
    """One setting: flag, else its variables in order, else the config file, else the default.

    An empty variable is an error naming it, not "unset". ``defaults`` may
    replace the table's default (keyed by setting key).
    """
    if flag is not None:
        return ResolvedValue(setting, setting.parse(flag, setting.flag), Origin(OriginKind.FLAG, setting.flag), flag)
    for name in setting.env:
        if name in environ:
            text = environ[name]
            if not text:
                accepts = f" ({setting.accepts})" if setting.accepts else ""
                raise SettingError(name, f"is empty; unset it or give a value such as {setting.example_text}"
                                         f"{accepts}")
            return ResolvedValue(setting, setting.parse(text, name), Origin(OriginKind.ENV, name), text)
    if config is not None and setting.configurable and setting.key in config.values:
        raw = config.values[setting.key]
        value = parse_config_value(setting, raw, path=config.path)
        return ResolvedValue(setting, value, Origin(OriginKind.CONFIG, setting.key, config.path), raw)
    if defaults is not None and setting.key in defaults:
        return ResolvedValue(setting, defaults[setting.key], DEFAULT_ORIGIN)
    return ResolvedValue(setting, setting.default, DEFAULT_ORIGIN)


def resolve_settings(*, flags: Mapping[str, RawValue | None], environ: Mapping[str, str],
                     config: ConfigValues | None = None, defaults: Mapping[str, Any] | None = None,
                     settings: Sequence[Setting[Any]] = SETTINGS) -> ResolvedSettings:
    """Resolve every setting: flag > environment variable > config file > default.

    The mode comes first (from ``flags``, ``CAPREC_MODE``, the config file,
    else instant; also when :data:`MODE` is not in ``settings`` but a
    per-mode setting is); per-mode settings are then resolved as
    :meth:`Setting.for_mode` makes them. ``flags`` maps setting keys to the
    values given on the command line (None: not given). ``defaults``
    replaces built-in defaults. Raises :class:`SettingError` naming the
    first bad value's origin (a bad mode before anything else).
    """
    known = {setting.key for setting in settings}
    stray = sorted((set(flags) | set(defaults or {})) - known)
    if stray:
        raise ValueError(f"no such setting: {', '.join(stray)}")
    mode_entry: ResolvedValue[Mode] | None = None
    if MODE.key in known or any(setting.per_mode for setting in settings):
        mode_entry = resolve_setting(MODE, flag=flags.get(MODE.key), environ=environ, config=config,
                                     defaults=defaults)
    mode = DEFAULT_MODE if mode_entry is None else mode_entry.value
    entries = tuple(
        mode_entry if mode_entry is not None and setting.key == MODE.key else
        resolve_setting(setting.for_mode(mode), flag=flags.get(setting.key), environ=environ, config=config,
                        defaults=defaults)
        for setting in settings
    )
    return ResolvedSettings(entries=entries, config=config)
