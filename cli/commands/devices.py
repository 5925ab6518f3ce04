"""``caprec devices``: the screens and audio inputs caprec can capture here.

The table (or ``--json`` array) goes to stdout; notes about what could not
be listed (no DISPLAY, no PulseAudio server) go to stderr as ``note: ...``.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from caprec.boundary import error_console, flag_for, run_guarded
from caprec.capture.ffmpeg.binary import find_ffmpeg
from caprec.capture.platform.devices import list_devices, needs_ffmpeg
from caprec.capture.platform.listing import Device
from caprec.env import Environment
from caprec.exit import ExitStatus
from caprec.settings import schema as opt
from caprec.settings.config import load_config
from caprec.settings.schema import ConfigValues
from rich.console import Console
from rich.table import Table
from rich.text import Text

JSON_INDENT = 2
COLUMNS = ("kind", "backend", "id", "name", "size")


EXAMPLES = """
Examples:

  caprec devices

  caprec devices --json | jq -r '.[] | select(.kind == "audio") | .id'
"""


@dataclass(frozen=True)
class ToolSettings:
    """The ``caprec record`` settings that ``devices`` and ``doctor`` honour, resolved like record's.

    Flag > CAPREC_* variable > config file > default, so both commands look
    at the ffmpeg, display and directory a recording would use.
    """

    ffmpeg: str | None
    ffmpeg_origin: str
    display: str | None
    output_dir: Path | None
    config: ConfigValues


def resolve_tool_settings(env: Environment, *, ffmpeg: str | None = None, display: str | None = None,
                          output_dir: str | None = None, check_all: bool = False) -> ToolSettings:
    """Resolve ``--ffmpeg``, ``--display`` and ``--output-dir`` as ``caprec record`` would.

    Raises :class:`caprec.capture.errors.SettingError` for a bad config file or
    value; with ``check_all`` every record setting is checked, not only these.
    """
    config = load_config(environ=env.environ)
    wanted = (opt.FFMPEG, opt.DISPLAY, opt.OUTPUT_DIR)
    resolved = opt.resolve_settings(
        flags={opt.FFMPEG.key: ffmpeg, opt.DISPLAY.key: display, opt.OUTPUT_DIR.key: output_dir},
        environ=env.environ, config=config, settings=opt.SETTINGS if check_all else wanted)
    return ToolSettings(ffmpeg=resolved.get(opt.FFMPEG), ffmpeg_origin=resolved.culprit(opt.FFMPEG),
                        display=resolved.get(opt.DISPLAY), output_dir=resolved.get(opt.OUTPUT_DIR), config=config)


def output_console(env: Environment) -> Console:
    return Console(file=env.stdout, no_color=env.no_color, highlight=False,
                   force_terminal=None if getattr(env.stdout, "isatty", lambda: False)() else False)


def device_name(device: Device) -> str:
    """The device's name as the CLI shows it, with the flag that picks it (``monitor HDMI-1, --screen 1``)."""
    return device.name if device.screen is None else f"{device.name}, {flag_for('screen')} {device.screen}"


def device_json(device: Device) -> dict[str, object]:
    """One element of ``caprec devices --json``: the engine's fields, the name as the table shows it."""
    return {**device.to_json(), "name": device_name(device)}


def devices_table(devices: list[Device]) -> Table:
    """The rich table ``caprec devices`` prints; a region column only when a monitor has one."""
    with_region = any(device.region is not None for device in devices)
    table = Table(*COLUMNS, *(("region",) if with_region else ()))
    for device in devices:
        cells = [device.kind, device.backend, device.id, device_name(device), device.size_text]
        if with_region:
            cells.append(device.region or "")
        table.add_row(*(Text(str(cell)) for cell in cells))
    return table


def devices_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array instead of a table.")] = False,
    ffmpeg_path: Annotated[str | None, typer.Option(
        "--ffmpeg", metavar="PATH", help="The ffmpeg binary (macOS and Windows list devices through it). "
                                         "Default: as caprec record finds it.")] = None,
    display: Annotated[str | None, typer.Option(
        metavar="NAME", help="X display to list. Default: as caprec record (CAPREC_DISPLAY, config, $DISPLAY).")
    ] = None,
) -> None:
    """List the screens and audio inputs caprec can capture here, with the id to pass to caprec."""
    env = Environment()

    def body() -> int:
        settings = resolve_tool_settings(env, ffmpeg=ffmpeg_path, display=display)
        path = None
        if needs_ffmpeg(sys.platform):
            path = find_ffmpeg(explicit=settings.ffmpeg, explicit_origin=settings.ffmpeg_origin).path
        notes: list[str] = []
        devices = list_devices(ffmpeg_path=path, environ=env.environ, display=settings.display,
                               on_note=notes.append)
        console = error_console(env)
        for note in notes:
            console.print(f"note: {note}", markup=False, soft_wrap=True)
        if as_json:
            env.stdout.write(json.dumps([device_json(device) for device in devices], indent=JSON_INDENT,
                                        ensure_ascii=False) + "\n")
        else:
            output_console(env).print(devices_table(devices))
        return ExitStatus.OK

    run_guarded(env, body)
