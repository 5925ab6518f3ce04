"""The types of the settings table: :class:`Setting`, where a value came from (:class:`Origin`), resolved values.

The table of settings and their resolution live in :mod:`caprec.settings.schema`; the parsers in
:mod:`caprec.settings.parsers`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Generic, TypeVar

import tomli_w
from caprec.capture.record.spec import Mode

T = TypeVar("T")

#: What a flag, an environment variable or a TOML value can hold.
RawValue = str | int | float | bool

#: The config file table that holds ``caprec record``'s settings.
CONFIG_TABLE = "record"
ENV_PREFIX = "CAPREC_"
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

