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

The types (:class:`Setting`, :class:`Origin`, the resolved values) live in
:mod:`caprec.settings.origins`, the parsers in :mod:`caprec.settings.parsers`; both
stay importable from here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, TypeVar, cast

from caprec.capture.cursor.writer import DEFAULT_FLUSH_INTERVAL
from caprec.capture.errors import SettingError
from caprec.capture.ffmpeg.argv import CRF_RANGE, DEFAULT_CODEC, DEFAULT_FPS
from caprec.capture.record.pump import DEFAULT_PIPE_BUFFER
from caprec.capture.record.spec import Mode
from caprec.capture.units import (
    Region,
)
from caprec.settings.origins import (
    CONFIG_TABLE,
    DEFAULT_ORIGIN,
    ENV_PREFIX,
    ConfigValues,
    ModeDefault,
    Origin,
    OriginKind,
    RawValue,
    ResolvedSettings,
    ResolvedValue,
    Setting,
    mode_variable,
)
from caprec.settings.parsers import (
    AUDIO_NONE,
    MAX_CURSOR_FLUSH_S,
    MAX_DELAY_S,
    MIN_CURSOR_FLUSH_S,
    PIPE_BUFFER_RANGE_TEXT,
    QUEUE_SIZE_RANGE,
    QUEUE_SIZE_RANGE_TEXT,
    SOURCES,
    parse_audio_setting,
    parse_bool,
    parse_codec,
    parse_crf,
    parse_cursor_flush,
    parse_delay,
    parse_directory,
    parse_duration_setting,
    parse_fps_setting,
    parse_mode,
    parse_optional_text,
    parse_pipe_buffer,
    parse_queue_size,
    parse_region_setting,
    parse_source,
    parse_text,
)
from caprec.settings.suggest import did_you_mean

T = TypeVar("T")

DEFAULT_SOURCE = "screen"
DEFAULT_MODE = Mode.INSTANT
#: Each mode's default queue size (see benchmarks/queue_size.py for the figures).
DEFAULT_QUEUE_SIZE_INSTANT = 96
DEFAULT_QUEUE_SIZE_STUDIO = 240

# The table and its resolution are this module's; the setting types (caprec.settings.origins) and the parsers
# (caprec.settings.parsers) stay importable from here.
__all__ = [
    "AUDIO",
    "AUDIO_NONE",
    "CODEC",
    "CONFIG_TABLE",
    "CRF",
    "CURSOR",
    "CURSOR_FLUSH",
    "DEFAULT_MODE",
    "DEFAULT_ORIGIN",
    "DEFAULT_QUEUE_SIZE_INSTANT",
    "DEFAULT_QUEUE_SIZE_STUDIO",
    "DEFAULT_SOURCE",
    "DELAY",
    "DISPLAY",
    "DRY_RUN",
    "DURATION",
    "ENV_PREFIX",
    "FFMPEG",
    "FPS",
    "MAX_CURSOR_FLUSH_S",
    "MAX_DELAY_S",
    "MIN_CURSOR_FLUSH_S",
    "MODE",
    "OUTPUT",
    "OUTPUT_DIR",
    "OVERWRITE",
    "PIPE_BUFFER",
    "PIPE_BUFFER_RANGE_TEXT",
    "PRESET",
    "QUEUE_SIZE",
    "QUEUE_SIZE_RANGE",
    "QUEUE_SIZE_RANGE_TEXT",
    "QUIET",
    "REGION",
    "SETTINGS",
    "SOURCE",
    "SOURCES",
    "ConfigValues",
    "ModeDefault",
    "Origin",
    "OriginKind",
    "RawValue",
    "ResolvedSettings",
    "ResolvedValue",
    "Setting",
    "check_config_table",
    "configurable_settings",
    "describe_toml",
    "find_setting",
    "known_keys",
    "mode_variable",
    "parse_audio_setting",
    "parse_bool",
    "parse_codec",
    "parse_config_value",
    "parse_crf",
    "parse_cursor_flush",
    "parse_delay",
    "parse_directory",
    "parse_duration_setting",
    "parse_fps_setting",
    "parse_mode",
    "parse_optional_text",
    "parse_pipe_buffer",
    "parse_queue_size",
    "parse_region_setting",
    "parse_source",
    "parse_text",
    "resolve_setting",
    "resolve_settings",
    "text_to_toml",
]


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
    key="ffmpeg", flag="--ffmpeg", parse=parse_text, default=None, env=_env("ffmpeg"),
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
