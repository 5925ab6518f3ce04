"""The ``CAPREC_*`` variables: which exist, and a misspelt one is an error.

The record settings' variables come from the settings table (with their
per-mode forms); the few that belong to the command line alone (the JSON
outputs of a script) are listed here. Any other ``CAPREC_*`` name is a typo
that would otherwise be ignored in silence (``CAPREC_FSP=60``), so it is
refused with the closest known name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from caprec.capture.errors import SettingError
from caprec.capture.record.spec import Mode
from caprec.settings import schema as opt
from caprec.settings.config import CONFIG_ENV
from caprec.settings.suggest import closest


@dataclass(frozen=True)
class ScriptVariable:
    """A variable for a scripting option of ``caprec record`` (not a config setting)."""

    name: str
    flag: str
    accepts: str


SCRIPT_JSON = ScriptVariable("CAPREC_JSON", "--json", "1/true/yes/on or 0/false/no/off")
SCRIPT_SUMMARY_FILE = ScriptVariable("CAPREC_SUMMARY_FILE", "--summary-file", "a path")
SCRIPT_STATS_FILE = ScriptVariable("CAPREC_STATS_FILE", "--stats-file", "a path")
SCRIPT_VARIABLES = (SCRIPT_JSON, SCRIPT_SUMMARY_FILE, SCRIPT_STATS_FILE)
#: Other variables caprec reads (the config file's location).
OTHER_VARIABLES = (CONFIG_ENV,)


def known_variables(extra: Iterable[str] = ()) -> frozenset[str]:
    """Every ``CAPREC_*`` name caprec reads: settings (with per-mode forms), scripting, the config path."""
    names = set(OTHER_VARIABLES) | {variable.name for variable in SCRIPT_VARIABLES} | set(extra)
    for setting in opt.configurable_settings():
        names.update(setting.env)
        if setting.per_mode:
            for mode in Mode:
                names.update(setting.for_mode(mode).env)
    return frozenset(names)


def check_variables(environ: Mapping[str, str], *, extra: Iterable[str] = ()) -> None:
    """Refuse an unknown ``CAPREC_*`` variable, naming the closest known one."""
    known = known_variables(extra)
    prefix = opt.ENV_PREFIX
    for name in sorted(environ):
        if name.startswith(prefix) and name not in known:
            # Compare what follows CAPREC_: the shared prefix would make every name look alike.
            match = closest(name[len(prefix):], (each[len(prefix):] for each in known))
            fix = f"did you mean {prefix}{match}? Else unset it" if match else \
                "unset it (docs/configuration.md lists the variables)"
            raise SettingError(name, f"no such caprec variable; {fix}")


def script_flag(environ: Mapping[str, str], variable: ScriptVariable) -> bool:
    """A scripting switch's variable (off when unset)."""
    text = environ.get(variable.name)
    return False if text is None else opt.parse_bool(text, variable.name)


def script_path(environ: Mapping[str, str], variable: ScriptVariable) -> str | None:
    """A scripting path's variable (None when unset); an empty one is an error naming it."""
    text = environ.get(variable.name)
    if text is not None and not text:
        raise SettingError(variable.name, f"is empty; unset it or give {variable.accepts}")
    return text


@dataclass(frozen=True)
class ScriptOptions:
    """``--json``, ``--summary-file`` and ``--stats-file``: the flag, else its variable."""

    json_stdout: bool
    summary_file: Path | None
    stats_file: Path | None


def script_options(environ: Mapping[str, str], *, json_stdout: bool, summary_file: Path | None,
                   stats_file: Path | None) -> ScriptOptions:
    """The scripting options of one run; checks every ``CAPREC_*`` name first."""
    check_variables(environ)
    summary = summary_file or _path(script_path(environ, SCRIPT_SUMMARY_FILE))
    stats = stats_file or _path(script_path(environ, SCRIPT_STATS_FILE))
    return ScriptOptions(json_stdout=json_stdout or script_flag(environ, SCRIPT_JSON), summary_file=summary,
                         stats_file=stats)


def _path(text: str | None) -> Path | None:
    return None if text is None else Path(text)
