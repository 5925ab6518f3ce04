"""An environment without what would change caprec: CAPREC_* variables, a display, terminal sizes.

Three shapes of the same rule: :func:`scrubbed_environ` for a subprocess, :func:`cli_runner_unset` for
Typer's ``CliRunner`` (which takes None for "unset"), :func:`isolate` for an in-process test (monkeypatch).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CAPREC_PREFIX = "CAPREC_"
CONFIG_VARIABLE = "CAPREC_CONFIG"
# Variables that would change what caprec does; every run starts without them.
SCRUBBED_VARS = ("DISPLAY", "WAYLAND_DISPLAY", "XDG_SESSION_TYPE", "CAPREC_FFMPEG", "COLUMNS", "LINES",
                 "FORCE_COLOR", "TERM", "XDG_CONFIG_HOME")


def _scrubbed(name: str) -> bool:
    return name in SCRUBBED_VARS or name.startswith(CAPREC_PREFIX)


def scrubbed_environ() -> dict[str, str]:
    """This process's environment without DISPLAY, any CAPREC_* variable, COLUMNS..."""
    return {key: value for key, value in os.environ.items() if not _scrubbed(key)}


def cli_runner_unset() -> dict[str, str | None]:
    """For ``CliRunner().invoke(env=...)``: every variable :func:`scrubbed_environ` leaves out, as unset."""
    return {name: None for name in os.environ if _scrubbed(name)}


def isolate(monkeypatch: pytest.MonkeyPatch, *, config: Path, cwd: Path,
            also: tuple[str, ...] = ()) -> Path:
    """In this process: no CAPREC_* variable (nor ``also``), the config file at ``config``, ``cwd`` the directory.

    Returns ``config`` (absent until the test writes it).
    """
    for name in list(os.environ):
        if name.startswith(CAPREC_PREFIX) or name in also:
            monkeypatch.delenv(name)
    monkeypatch.setenv(CONFIG_VARIABLE, str(config))
    monkeypatch.chdir(cwd)
    return config
