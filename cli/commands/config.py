"""``caprec config``: where the config file is, what is in effect, and editing it.

``path`` and ``show`` write their answer to stdout; ``init``, ``set`` and
``unset`` confirm on stderr. Bad keys and values are ``error: ...`` with
exit code 2, and nothing is written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import tomli_w
import typer
from caprec.boundary import error_console, run_guarded
from caprec.capture.errors import SettingError
from caprec.capture.units import Region
from caprec.env import Environment
from caprec.exit import ExitStatus
from caprec.settings import schema as opt
from caprec.settings.config import config_location, init_config, read_config, set_config_value, unset_config_value
from caprec.settings.schema import OriginKind, ResolvedValue
from caprec.settings.variables import check_variables
from rich.console import Console
from rich.table import Table

JSON_INDENT = 2
EXAMPLES = """
Examples:

  caprec config show

  caprec config set fps 60

  caprec config set output_dir ~/Videos

  caprec config unset fps
"""

config_app = typer.Typer(
    name="config",
    help="Show and edit the config file that holds defaults for caprec record.",
    epilog=EXAMPLES,
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


@config_app.callback()
def config_root() -> None:
    """Every config command first refuses a misspelt CAPREC_* variable (it would be ignored in silence)."""
    env = Environment()

    def check() -> int:
        check_variables(env.environ)
        return ExitStatus.OK

    try:
        check_variables(env.environ)
    except SettingError:
        run_guarded(env, check)


def _complete_keys(incomplete: str) -> list[str]:
    return [s.key for s in opt.configurable_settings() if s.key.startswith(incomplete)]


def _output_console(env: Environment) -> Console:
    return Console(file=env.stdout, no_color=env.no_color, highlight=False,
                   force_terminal=None if getattr(env.stdout, "isatty", lambda: False)() else False)


def json_value(value: Any) -> Any:
    """A resolved value as JSON: regions and paths as text."""
    if isinstance(value, Region | Path):
        return str(value)
    return value


def shown_value(entry: ResolvedValue[Any]) -> str:
    """A value as ``config show`` prints it: as given, or the default's description."""
    if entry.origin.kind is OriginKind.DEFAULT:
        return entry.setting.default_text
    raw = entry.raw
    return str(raw).lower() if isinstance(raw, bool) else str(raw)


@config_app.command("path", epilog="Example:\n\n  caprec config path\n")
def path_command() -> None:
    """Print the config file's path ($CAPREC_CONFIG, else the platform's config directory)."""
    env = Environment()

    def body() -> int:
        env.stdout.write(f"{config_location(environ=env.environ).path}\n")
        return ExitStatus.OK

    run_guarded(env, body)


@config_app.command("show", epilog="Example:\n\n  caprec config show --json | jq .fps\n")
def show_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Show every record setting in effect (without flags) and where it comes from."""
    env = Environment()

    def body() -> int:
        location = config_location(environ=env.environ)
        config = read_config(location.path)
        resolved = opt.resolve_settings(flags={}, environ=env.environ, config=config,
                                        settings=opt.configurable_settings())
        if as_json:
            document = {
                "config_file": str(location.path),
                "config_file_origin": location.origin,
                "config_file_exists": config.exists,
                "settings": {
                    entry.setting.key: {
                        "value": json_value(entry.value),
                        "origin": str(entry.origin),
                        "origin_kind": str(entry.origin.kind),
                        "flag": entry.setting.flag,
                        "env": list(entry.setting.env),
                    }
                    for entry in resolved
                },
            }
            env.stdout.write(json.dumps(document, indent=JSON_INDENT) + "\n")
            return ExitStatus.OK
        state = "" if config.exists else "; not created yet: caprec config init"
        where = "from $CAPREC_CONFIG" if location.origin == "CAPREC_CONFIG" else "default location"
        console = _output_console(env)
        console.print(f"config file: {location.path} ({where}{state})", markup=False, soft_wrap=True)
        table = Table("key", "value", "from", "variable")
        for entry in resolved:
            origin = "config file" if entry.origin.kind is OriginKind.CONFIG else str(entry.origin)
            table.add_row(entry.setting.key, shown_value(entry), origin, ", ".join(entry.setting.env))
        console.print(table)
        return ExitStatus.OK

    run_guarded(env, body)


@config_app.command("init", epilog="Example:\n\n  caprec config init\n")
def init_command(
    force: Annotated[bool, typer.Option("--force", help="Replace an existing config file.")] = False,
) -> None:
    """Write a config file holding the built-in defaults (refuses to replace one without --force)."""
    env = Environment()

    def body() -> int:
        path = config_location(environ=env.environ).path
        values = init_config(path, force=force)
        error_console(env).print(f"wrote {path} ({len(values)} settings)", markup=False, soft_wrap=True)
        return ExitStatus.OK

    run_guarded(env, body)


@config_app.command("set", epilog="Example:\n\n  caprec config set cursor_flush 0.5\n")
def set_command(
    key: Annotated[str, typer.Argument(help="A record setting, e.g. fps, codec, output_dir.",
                                       autocompletion=_complete_keys)],
    value: Annotated[str, typer.Argument(help="Its value, checked like the flag's, e.g. 60 or 1m30s.")],
) -> None:
    """Store a default for caprec record, checked first with the setting's own parser."""
    env = Environment()

    def body() -> int:
        path = config_location(environ=env.environ).path
        name, stored = set_config_value(path, key, value)
        console = error_console(env)
        console.print(f"set {tomli_w.dumps({name: stored}).strip()} in {path}", markup=False, soft_wrap=True)
        setting = opt.find_setting(name)
        overriding = [var for var in (setting.env if setting else ()) if var in env.environ]
        if overriding:
            console.print(f"note: {overriding[0]} is set and takes precedence over the config file",
                          markup=False, soft_wrap=True)
        return ExitStatus.OK

    run_guarded(env, body)


@config_app.command("unset", epilog="Example:\n\n  caprec config unset fps\n")
def unset_command(
    key: Annotated[str, typer.Argument(help="The setting to remove (also an unknown key, to repair a typo).",
                                       autocompletion=_complete_keys)],
) -> None:
    """Remove a setting from the config file, so the variable or default applies again."""
    env = Environment()

    def body() -> int:
        path = config_location(environ=env.environ).path
        removed = unset_config_value(path, key)
        message = f"removed {key} from {path}" if removed else f"{key} was not set in {path}"
        error_console(env).print(message, markup=False, soft_wrap=True)
        return ExitStatus.OK

    run_guarded(env, body)
