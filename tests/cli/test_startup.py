"""caprec.app builds only what a command line needs (its command, or the summaries): the same pages and answers."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main
from caprec.app import COMMAND_NAMES, COMMAND_SUMMARIES, COMPLETE_VAR, app_for, build_app, invoked_command
from typer.testing import CliRunner

RUN_TIMEOUT_S = 60.0
# Pages and mistakes whose output must not depend on which commands were registered.
COMMAND_LINES = [
    ["record", "--help"], ["record", "--bogus"], ["record", "--fps"], ["batch", "--help"], ["render", "--help"],
    ["config", "--help"], ["config", "set", "--help"], ["config", "bogus"], ["cursor", "summary", "--help"],
    ["devices", "--help"], ["doctor", "--help"], ["recover", "--help"], ["save", "--help"], ["cursor"],
]


@pytest.mark.parametrize("args", COMMAND_LINES, ids=" ".join)
def test_one_command_app_prints_what_the_whole_app_prints(args: list[str]) -> None:
    env = {"COLUMNS": "80", "NO_COLOR": "1"}
    whole = CliRunner().invoke(build_app(), args, env=env, prog_name="caprec")
    alone = CliRunner().invoke(build_app(only=args[0]), args, env=env, prog_name="caprec")
    assert (alone.exit_code, alone.output) == (whole.exit_code, whole.output)
    assert whole.output


@pytest.mark.parametrize(("argv", "environ", "expected"), [
    (["caprec", "record", "-d", "3"], {}, "record"),
    (["caprec", "config", "set", "fps", "30"], {}, "config"),
    (["caprec", "--help"], {}, None),
    (["caprec"], {}, None),
    (["caprec", "recordd"], {}, None),  # a mistyped command: Typer suggests from every command
    (["caprec"], {COMPLETE_VAR: "complete_bash", "COMP_WORDS": "caprec record --so", "COMP_CWORD": "2"}, "record"),
    (["caprec"], {COMPLETE_VAR: "complete_bash", "COMP_WORDS": "caprec rec", "COMP_CWORD": "1"}, None),
    (["caprec"], {COMPLETE_VAR: "complete_bash", "COMP_WORDS": "caprec ", "COMP_CWORD": "1"}, None),
    (["caprec"], {COMPLETE_VAR: "complete_bash", "COMP_WORDS": "caprec cursor ", "COMP_CWORD": "2"}, "cursor"),
    (["caprec"], {COMPLETE_VAR: "complete_bash", "COMP_WORDS": "caprec record", "COMP_CWORD": "x"}, None),
    (["caprec"], {COMPLETE_VAR: "complete_zsh", "_TYPER_COMPLETE_ARGS": "caprec record "}, "record"),
    (["caprec"], {COMPLETE_VAR: "complete_zsh", "_TYPER_COMPLETE_ARGS": "caprec record"}, None),
    (["caprec"], {COMPLETE_VAR: "complete_fish", "_TYPER_COMPLETE_ARGS": "caprec config s"}, "config"),
    (["caprec", "record"], {COMPLETE_VAR: "complete_bash", "COMP_WORDS": "caprec re", "COMP_CWORD": "1"}, None),
])
def test_invoked_command(argv: list[str], environ: dict[str, str], expected: str | None) -> None:
    assert invoked_command(argv, environ) == expected


def test_every_command_is_registered_by_name() -> None:
    names = {info.name or (info.callback.__name__ if info.callback else "") for info in build_app().registered_commands}
    names |= {info.name for info in build_app().registered_groups if info.name}
    assert names == set(COMMAND_NAMES)
    for name in COMMAND_NAMES:
        alone = build_app(only=name)
        assert len(alone.registered_commands) + len(alone.registered_groups) == 1


def test_a_recording_imports_no_other_command(tmp_path: Path) -> None:
    """``caprec record`` paid for every command's imports (render, batch, replay, recover...) before FFmpeg started."""
    code = ("import sys\nsys.argv = ['caprec', *sys.argv[1:]]\nfrom caprec.app import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "sys.stderr.write(' '.join(sorted(m for m in sys.modules if m.startswith('caprec.'))))\n")
    args = ["record", "--source", "test", "-d", "2", "--dry-run", "-o", "x.mp4"]
    result = subprocess.run([sys.executable, "-c", code, *args], cwd=tmp_path, capture_output=True, text=True,
                            timeout=RUN_TIMEOUT_S, check=False,
                            env={"NO_COLOR": "1", "PATH": "/usr/bin:/bin",
                                 "XDG_CONFIG_HOME": str(tmp_path / "c"), "XDG_CACHE_HOME": str(tmp_path / "k")})
    assert "ffmpeg" in result.stdout, result.stderr
    imported = set(result.stderr.split())
    assert "caprec.commands.record" in imported
    unneeded = {"caprec.commands.batch", "caprec.commands.render", "caprec.commands.doctor",
                "caprec.commands.recover", "caprec.commands.replay", "caprec.commands.config",
                "caprec.commands.devices", "caprec.capture.render.spec", "caprec.capture.replay.ring",
                "caprec.capture.studio.recover"}
    assert sorted(imported & unneeded) == []


def test_summaries_are_the_first_paragraph_of_each_commands_help() -> None:
    group = typer.main.get_command(build_app())
    assert isinstance(group, typer.core.TyperGroup)
    real = {name: inspect.cleandoc(command.help or "").split("\n\n")[0] for name, command in group.commands.items()}
    assert real == COMMAND_SUMMARIES


@pytest.mark.parametrize("args", [["--help"], ["-h"], []], ids=repr)
@pytest.mark.parametrize("columns", ["60", "80", "120"])
def test_the_root_page_from_summaries_is_the_whole_apps(args: list[str], columns: str) -> None:
    env = {"COLUMNS": columns, "NO_COLOR": "1"}
    whole = CliRunner().invoke(build_app(), args, env=env, prog_name="caprec")
    listed = CliRunner().invoke(build_app(summaries=True), args, env=env, prog_name="caprec")
    assert (listed.exit_code, listed.output) == (whole.exit_code, whole.output)
    assert "record" in whole.output


SHELL_REQUESTS = [
    {COMPLETE_VAR: "complete_bash", "COMP_WORDS": f"caprec {word}", "COMP_CWORD": "1"}
    for word in ("", "rec", "c", "--", "-", "zz")
] + [
    {COMPLETE_VAR: f"complete_{shell}", "_TYPER_COMPLETE_ARGS": f"caprec {word}",
     "_TYPER_COMPLETE_WORD_TO_COMPLETE": word, "_TYPER_COMPLETE_FISH_ACTION": "get-args"}
    for shell in ("zsh", "fish", "powershell") for word in ("", "rec", "c", "--")
]


def _request_id(env: dict[str, str]) -> str:
    return f"{env[COMPLETE_VAR]}:{env.get('COMP_WORDS') or env['_TYPER_COMPLETE_ARGS']}"


@pytest.mark.parametrize("request_env", SHELL_REQUESTS, ids=_request_id)
def test_completing_the_command_word_from_summaries_gives_typers_answer(request_env: dict[str, str]) -> None:
    """The answer (with each command's help, for zsh, fish and PowerShell) is the whole app's."""
    whole = CliRunner().invoke(build_app(), [], env=request_env, prog_name="caprec")
    listed = CliRunner().invoke(build_app(summaries=True), [], env=request_env, prog_name="caprec")
    assert (listed.exit_code, listed.output) == (whole.exit_code, whole.output)
    if request_env["_TYPER_COMPLETE_ARGS" if "_TYPER_COMPLETE_ARGS" in request_env else "COMP_WORDS"].endswith("rec"):
        assert "recover" in whole.output


@pytest.mark.parametrize(("argv", "environ", "summaries"), [
    (["caprec", "--help"], {}, True),
    (["caprec"], {}, True),
    (["caprec", "--show-completion", "bash"], {}, False),
    (["caprec"], {COMPLETE_VAR: "complete_bash", "COMP_WORDS": "caprec re", "COMP_CWORD": "1"}, True),
    (["caprec"], {COMPLETE_VAR: "complete_bash", "COMP_WORDS": "caprec --version ", "COMP_CWORD": "2"}, False),
    (["caprec"], {COMPLETE_VAR: "complete_zsh", "_TYPER_COMPLETE_ARGS": "caprec "}, True),
])
def test_app_for_lists_summaries_only_where_nothing_else_is_shown(argv: list[str], environ: dict[str, str],
                                                                  summaries: bool) -> None:
    callbacks = {info.callback.__name__ for info in app_for(argv, environ).registered_commands if info.callback}
    assert (callbacks == {"_summary_only"}) is summaries


# Run caprec in a fresh interpreter and write, at FFmpeg's spawn (or at exit when nothing was spawned), the
# caprec, rich and typer modules imported so far.
_MODULES_AT_SPAWN = """
import subprocess, sys
seen = []
real = subprocess.Popen._execute_child
def snapshot():
    return ' '.join(sorted(m for m in sys.modules if m.split('.')[0] in ('caprec', 'rich')))
def spawned(self, args, *rest, **kw):
    if not seen and 'ffmpeg' in str(args[0]) and '-version' not in args:
        seen.append(snapshot())
    return real(self, args, *rest, **kw)
subprocess.Popen._execute_child = spawned
sys.argv = ['caprec', *sys.argv[1:]]
from caprec.app import main
try:
    main()
except SystemExit:
    pass
sys.stderr.write('MODULES ' + (seen[0] if seen else snapshot()) + '\\n')
"""


def _modules_at_spawn(tmp_path: Path, args: list[str], environ: dict[str, str] | None = None) -> set[str]:
    result = subprocess.run([sys.executable, "-c", _MODULES_AT_SPAWN, *args], cwd=tmp_path, capture_output=True,
                            text=True, timeout=RUN_TIMEOUT_S, check=False,
                            env={"NO_COLOR": "1", "PATH": "/usr/bin:/bin", "XDG_CONFIG_HOME": str(tmp_path / "c"),
                                 "XDG_CACHE_HOME": str(tmp_path / "k"), **(environ or {})})
    lines = [line for line in result.stderr.splitlines() if line.startswith("MODULES ")]
    assert lines, result.stderr
    return set(lines[-1].split()[1:])


@pytest.mark.parametrize("quiet", [True, False], ids=["quiet", "panel"])
def test_a_recording_starts_ffmpeg_before_it_imports_rich(tmp_path: Path, quiet: bool) -> None:
    """rich and the panel (~20 ms of imports) were loaded before FFmpeg started: the first frame waited for them."""
    args = ["record", "--source", "test", "-d", "1", *(["--quiet"] if quiet else []), "-o", "x.mp4"]
    imported = _modules_at_spawn(tmp_path, args)
    assert "caprec.commands.run" in imported  # the snapshot was taken at the recording's FFmpeg
    assert sorted(name for name in imported if name.split(".")[0] == "rich") == []
    assert sorted(imported & {"caprec.ui.display", "caprec.ui.panel", "caprec.ui.countdown",
                              "caprec.capture.platform.x11pick"}) == []
    assert (tmp_path / "x.mp4").stat().st_size > 0


def test_completing_a_record_option_imports_no_recording_machinery(tmp_path: Path) -> None:
    """TAB on a record option built the command from a module that imported the whole recorder (~0.2 s)."""
    imported = _modules_at_spawn(tmp_path, [], {COMPLETE_VAR: "complete_bash", "COMP_WORDS": "caprec record --so",
                                                "COMP_CWORD": "2"})
    assert "caprec.commands.record" in imported
    assert sorted(imported & {"caprec.commands.plan", "caprec.commands.run", "caprec.capture.record.session",
                              "caprec.capture.record.segment", "caprec.ui.display", "caprec.boundary"}) == []
