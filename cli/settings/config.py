"""caprec's config file: where it lives, reading it, writing it atomically.

The file is TOML with one table, ``[record]``, whose keys are the
configurable settings of :mod:`caprec.settings.schema` (the flag without ``--``,
dashes as underscores)::

    [record]
    fps = 30
    codec = "libx264"
    output_dir = "~/Videos"
    cursor = false

It lives at ``$CAPREC_CONFIG`` when that is set, else in the platform's
config directory (:func:`default_config_path`). A missing file is an empty
config. A file that is not TOML, has an unknown key or a value of the wrong
type is an error naming the key and the file. Writes go to a temporary file
in the same directory, are flushed to disk, then renamed over the file, so a
crash leaves the old file or the new one, never half of one.
"""

from __future__ import annotations

import errno
import math
import os
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w
from caprec.capture.errors import OutputError, SettingError
from caprec.capture.files.atomic import write_atomic
from caprec.capture.files.textfile import parse_toml, read_regular_file
from caprec.settings.schema import (
    CONFIG_TABLE,
    ConfigValues,
    RawValue,
    Setting,
    check_config_table,
    configurable_settings,
    find_setting,
    known_keys,
    text_to_toml,
)
from caprec.settings.suggest import did_you_mean

CONFIG_ENV = "CAPREC_CONFIG"
APP_NAME = "caprec"
CONFIG_FILENAME = "config.toml"
# A config file is a few hundred bytes; anything this large is not one.
MAX_CONFIG_BYTES = 1024 * 1024
_HEADER = (
    "# caprec configuration: defaults for `caprec record`.\n"
    "# Precedence: command-line flag > CAPREC_* environment variable > this file > built-in default.\n"
    "# For queue_size and pipe_buffer a per-mode variable (CAPREC_QUEUE_SIZE_STUDIO) comes before the\n"
    "# shared one (CAPREC_QUEUE_SIZE), and the default depends on the mode.\n"
    "# `caprec config set KEY VALUE` rewrites this file; comments are not kept.\n"
)


@dataclass(frozen=True)
class ConfigLocation:
    """The config file's path and why it is there (``CAPREC_CONFIG`` or ``default``)."""

    path: Path
    origin: str


def default_config_path(*, environ: Mapping[str, str] = os.environ, platform: str = sys.platform,
                        home: Path | None = None) -> Path:
    """The platform's config file path.

    Linux and others: ``$XDG_CONFIG_HOME/caprec/config.toml`` (an absolute
    ``XDG_CONFIG_HOME`` only, per the XDG spec), else
    ``~/.config/caprec/config.toml``; macOS: ``~/Library/Application
    Support/caprec/config.toml``; Windows: ``%APPDATA%\\caprec\\config.toml``.
    """
    base_home = home if home is not None else Path.home()
    if platform == "win32":
        appdata = environ.get("APPDATA")
        base = Path(appdata) if appdata else base_home / "AppData" / "Roaming"
    elif platform == "darwin":
        base = base_home / "Library" / "Application Support"
    else:
        xdg = environ.get("XDG_CONFIG_HOME", "")
        base = Path(xdg) if xdg and Path(xdg).is_absolute() else base_home / ".config"
    return base / APP_NAME / CONFIG_FILENAME


def config_location(*, environ: Mapping[str, str] = os.environ, platform: str = sys.platform,
                    home: Path | None = None) -> ConfigLocation:
    """``$CAPREC_CONFIG`` if set (an empty value is an error), else :func:`default_config_path`."""
    if CONFIG_ENV in environ:
        value = environ[CONFIG_ENV]
        if not value:
            raise SettingError(CONFIG_ENV, "is empty; unset it or give the config file's path")
        return ConfigLocation(Path(value).expanduser(), CONFIG_ENV)
    return ConfigLocation(default_config_path(environ=environ, platform=platform, home=home), "default")


def _read_document(path: Path) -> dict[str, Any] | None:
    """The parsed TOML document at ``path``, or None when there is no file."""
    try:
        data = read_regular_file(path, limit=MAX_CONFIG_BYTES)
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise SettingError(str(path), f"is a directory, not a config file; remove it or set {CONFIG_ENV}") from None
    except OSError as exc:
        fix = "fix its permissions" if exc.errno in (errno.EACCES, errno.EPERM) else "give a TOML file"
        raise SettingError(str(path), f"cannot be read ({exc.strerror or exc}); {fix} or "
                                      f"set {CONFIG_ENV}") from None
    try:
        return parse_toml(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise SettingError(str(path), "is not UTF-8 text; fix it or run caprec config init --force") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingError(str(path), f"not valid TOML ({exc}); fix it or run caprec config init --force") from None


def _record_table(document: Mapping[str, Any], path: Path) -> Mapping[str, Any]:
    """The ``[record]`` table; anything else at the top level is an error."""
    for key, value in document.items():
        if key == CONFIG_TABLE:
            continue
        if find_setting(key) is not None and not isinstance(value, dict):
            raise SettingError(str(path), f"key {key!r} must be in the [{CONFIG_TABLE}] table")
        raise SettingError(str(path), f"unknown key {key!r}; caprec reads only the [{CONFIG_TABLE}] table "
                                      f"(keys: {known_keys()})")
    table = document.get(CONFIG_TABLE, {})
    if not isinstance(table, dict):
        raise SettingError(str(path), f"{CONFIG_TABLE!r} must be a table: [{CONFIG_TABLE}] followed by key = value "
                                      "lines")
    return table


def read_config(path: Path) -> ConfigValues:
    """Read and validate the config file at ``path``; a missing file is an empty config.

    Raises :class:`SettingError` naming the file (and the key) for a file
    that cannot be read, is not TOML, has an unknown key or a bad value.
    """
    document = _read_document(path)
    if document is None:
        return ConfigValues(path=path)
    return check_config_table(_record_table(document, path), path=path)


def load_config(*, environ: Mapping[str, str] = os.environ) -> ConfigValues:
    """Read the config file :func:`config_location` names."""
    return read_config(config_location(environ=environ).path)


def render_config(document: Mapping[str, Any]) -> str:
    """The text of a config file: a comment header, then the TOML document.

    The header lists, commented out, example lines for the keys not set.
    """
    record = document.get(CONFIG_TABLE, {})
    unset = [s for s in configurable_settings() if not (isinstance(record, dict) and s.key in record)]
    lines = [_HEADER]
    if unset:
        lines.append("# Other keys, for example:\n")
        lines.extend(f"#   {setting.example_toml}\n" for setting in unset)
    return "".join(lines) + "\n" + tomli_w.dumps(dict(document))


def save_document(path: Path, document: Mapping[str, Any]) -> None:
    """Write ``document`` to ``path`` atomically; raises :class:`OutputError` when it cannot."""
    data = render_config(document).encode("utf-8")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)  # the platform's config directory may be new
        # The user's own config may be a link into their dotfiles: keep the link and write its target
        # (write_atomic itself never follows a link; a config directory is the user's own, not shared).
        write_atomic(Path(os.path.realpath(path)), data)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None


def default_toml(setting: Setting[Any]) -> RawValue | None:
    """The built-in default of ``setting`` as a config value, or None when it has none to write.

    None too for a setting ``config init`` leaves out (:attr:`Setting.in_init`):
    the mode, and a default that differs between modes (``queue_size``),
    which a value in the file would replace in both modes.
    """
    if setting.default is None or not setting.in_init:
        return None
    value = text_to_toml(setting, setting.default_text)
    parsed = setting.parse(value, setting.key)
    if isinstance(parsed, float) and isinstance(setting.default, float):
        return value if math.isclose(parsed, setting.default) else None
    return value if parsed == setting.default else None


def init_config(path: Path, *, force: bool = False) -> dict[str, RawValue]:
    """Write a config file holding the built-in defaults; returns what was written.

    Refuses (:class:`OutputError`) to replace an existing file unless ``force``.
    """
    if path.exists() and not force:
        raise OutputError(f"{path} already exists; pass --force to replace it")
    if path.is_dir():
        raise OutputError(f"{path} is a directory; set {CONFIG_ENV} to a file path")
    values = {s.key: value for s in configurable_settings() if (value := default_toml(s)) is not None}
    save_document(path, {CONFIG_TABLE: values})
    return values


def _editable_document(path: Path) -> dict[str, Any]:
    document = _read_document(path) or {}
    table = document.setdefault(CONFIG_TABLE, {})
    if not isinstance(table, dict):
        raise SettingError(str(path), f"{CONFIG_TABLE!r} must be a table; fix the file or run "
                                      "caprec config init --force")
    return document


def set_config_value(path: Path, key: str, text: str) -> tuple[str, RawValue]:
    """Validate ``text`` for ``key`` with the setting's own parser, then store it atomically.

    Returns the key and the TOML value written. The rest of the file is kept
    (comments are not). Raises :class:`SettingError` for an unknown key or a
    bad value; nothing is written then.
    """
    setting = find_setting(key)
    if setting is None:
        hint = did_you_mean(key, [s.key for s in configurable_settings()])
        raise SettingError(str(path), f"unknown key {key!r}{hint}; known keys: {known_keys()}")
    value = text_to_toml(setting, text)
    document = _editable_document(path)
    document[CONFIG_TABLE][setting.key] = value
    save_document(path, document)
    return setting.key, value


def unset_config_value(path: Path, key: str) -> bool:
    """Remove ``key`` from the ``[record]`` table; False when it was not set.

    Unknown keys can be removed too (that is how a typo is repaired).
    """
    document = _read_document(path)
    if document is None:
        return False
    table = document.get(CONFIG_TABLE)
    name = key.strip()
    if not isinstance(table, dict):
        return False
    if name not in table:
        name = name.replace("-", "_")
        if name not in table:
            return False
    del table[name]
    save_document(path, document)
    return True
