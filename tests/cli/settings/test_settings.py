"""Settings for ``caprec record``: the table, precedence with origins, every error path, --delay.

Precedence is flag > CAPREC_* variable > config file > default. Variables are
set with monkeypatch and the config file lives in tmp_path (CAPREC_CONFIG), so
nothing leaks between tests or from the machine running them.
"""

from __future__ import annotations

import io
import math
import os
import select
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest
from caprec.app import app
from caprec.capture.errors import SettingError
from caprec.capture.record.segment import StopControl
from caprec.capture.units import Region
from caprec.commands.plan import resolve_plan
from caprec.env import Environment
from caprec.settings import schema as opt
from caprec.settings.config import CONFIG_ENV
from caprec.ui.countdown import countdown
from rich.console import Console
from support.env import isolate
from support.process import python_argv
from typer.testing import CliRunner

DEADLINE_S = 60.0


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """No CAPREC_* variable from outside; the config file is tmp_path/config.toml (absent until written)."""
    yield isolate(monkeypatch, config=tmp_path / "config.toml", cwd=tmp_path)


def write_config(path: Path, text: str) -> Path:
    path.write_text("[record]\n" + text + "\n", encoding="utf-8")
    return path


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def created_files(directory: Path, *, config: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p != config)


# The table -----------------------------------------------------------------

def test_table_names_each_option_once_with_the_documented_variables() -> None:
    keys = [s.key for s in opt.SETTINGS]
    flags = [s.flag for s in opt.SETTINGS]
    assert len(set(keys)) == len(keys) and len(set(flags)) == len(flags)
    variables = {name for s in opt.SETTINGS for name in s.all_env}
    assert variables == {
        "CAPREC_SOURCE", "CAPREC_FPS", "CAPREC_DURATION", "CAPREC_REGION", "CAPREC_CODEC", "CAPREC_PRESET",
        "CAPREC_CRF", "CAPREC_DISPLAY", "CAPREC_FFMPEG", "CAPREC_PIPE_BUFFER", "CAPREC_CURSOR",
        "CAPREC_CURSOR_FLUSH", "CAPREC_OUTPUT_DIR", "CAPREC_DELAY", "CAPREC_MODE", "CAPREC_AUDIO",
        "CAPREC_QUEUE_SIZE", "CAPREC_QUEUE_SIZE_INSTANT", "CAPREC_QUEUE_SIZE_STUDIO",
        "CAPREC_PIPE_BUFFER_INSTANT", "CAPREC_PIPE_BUFFER_STUDIO",
    }
    # Only these two depend on the mode; the mode itself is resolved first.
    assert [s.key for s in opt.SETTINGS if s.per_mode] == ["pipe_buffer", "queue_size"]
    # Per-invocation switches are flag-only: no variable or config key can turn them on.
    for setting in (opt.OUTPUT, opt.OVERWRITE, opt.QUIET, opt.DRY_RUN):
        assert setting.env == () and not setting.configurable


@pytest.mark.parametrize("setting", opt.configurable_settings(), ids=[s.key for s in opt.configurable_settings()])
def test_every_example_is_valid_from_each_origin(setting: opt.Setting[Any], tmp_path: Path) -> None:
    setting.parse(setting.example_text, setting.flag)
    setting.parse(setting.example, setting.env[0])
    opt.parse_config_value(setting, setting.example, path=tmp_path / "c.toml")


# Precedence with origins ---------------------------------------------------

PRECEDENCE_CASES: list[tuple[opt.Setting[Any], Any, str, Any, tuple[Any, ...]]] = [
    # setting, flag text, variable text, config TOML value, expected values flag/env/config/default
    (opt.FPS, "25", "20", 15, (25.0, 20.0, 15.0, 30.0)),
    (opt.DURATION, "1m", "30", "00:00:10", (60.0, 30.0, 10.0, None)),
    (opt.CODEC, "h264_nvenc", "h264_qsv", "h264_amf", ("h264_nvenc", "h264_qsv", "h264_amf", "libx264")),
    (opt.CRF, "18", "20", 28, (18, 20, 28, None)),
    (opt.PIPE_BUFFER, "2MiB", "512KiB", 65536, (2 * 1024**2, 512 * 1024, 65536, 1024**2)),
    (opt.CURSOR, False, "yes", False, (False, True, False, None)),
    (opt.REGION, "640x480+0+0", "320x240+10+10", "100x100+2+2",
     (Region(640, 480), Region(320, 240, 10, 10), Region(100, 100, 2, 2), None)),
    (opt.DELAY, "2", "1.5", 3, (2.0, 1.5, 3.0, 0.0)),
]


@pytest.mark.parametrize(("setting", "flag", "variable", "configured", "expected"), PRECEDENCE_CASES,
                         ids=[case[0].key for case in PRECEDENCE_CASES])
def test_flag_beats_variable_beats_config_beats_default(
        setting: opt.Setting[Any], flag: Any, variable: str, configured: Any, expected: tuple[Any, ...],
        tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    config = opt.ConfigValues(path=path, values={setting.key: configured}, exists=True)
    environ = {setting.env[0]: variable}

    def resolve(*, flag_value: Any, env: dict[str, str], cfg: opt.ConfigValues | None) -> opt.ResolvedValue[Any]:
        return opt.resolve_settings(flags={setting.key: flag_value}, environ=env, config=cfg).entry(setting)

    got = [
        resolve(flag_value=flag, env=environ, cfg=config),
        resolve(flag_value=None, env=environ, cfg=config),
        resolve(flag_value=None, env={}, cfg=config),
        resolve(flag_value=None, env={}, cfg=None),
    ]
    assert [entry.value for entry in got] == list(expected)
    assert [str(entry.origin) for entry in got] == [setting.flag, setting.env[0], f"config {path}", "default"]
    assert [entry.origin.kind for entry in got] == list(opt.OriginKind)
    assert got[2].origin.culprit == f"record.{setting.key} in {path}"


def test_variables_are_checked_in_order_for_later_per_mode_names() -> None:
    queue = opt.Setting(key="queue_size", flag="--queue-size", parse=opt.parse_crf, default=8,
                        env=("CAPREC_QUEUE_SIZE_INSTANT", "CAPREC_QUEUE_SIZE"), summary="", default_text="8",
                        example=8, toml_types=(int,))
    both = {"CAPREC_QUEUE_SIZE_INSTANT": "3", "CAPREC_QUEUE_SIZE": "5"}
    resolved = opt.resolve_settings(flags={}, environ=both, settings=(queue,))
    assert (resolved.get(queue), str(resolved.origin(queue))) == (3, "CAPREC_QUEUE_SIZE_INSTANT")
    resolved = opt.resolve_settings(flags={}, environ={"CAPREC_QUEUE_SIZE": "5"}, settings=(queue,))
    assert (resolved.get(queue), str(resolved.origin(queue))) == (5, "CAPREC_QUEUE_SIZE")
    resolved = opt.resolve_settings(flags={}, environ={}, defaults={"queue_size": 2}, settings=(queue,))
    assert (resolved.get(queue), str(resolved.origin(queue))) == (2, "default")


def test_a_flag_given_wins_even_over_a_bad_variable() -> None:
    resolved = opt.resolve_settings(flags={"fps": "24"}, environ={"CAPREC_FPS": "abc"})
    assert resolved.get(opt.FPS) == 24.0


def test_unknown_flag_key_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="no such setting: fsp"):
        opt.resolve_settings(flags={"fsp": "3"}, environ={})


def test_resolve_plan_records_each_origin(clean_env: Path) -> None:
    write_config(clean_env, 'fps = 15\ncodec = "libx264"\ncrf = 30\ndelay = 2')
    env = Environment(environ={CONFIG_ENV: str(clean_env), "CAPREC_CRF": "20", "CAPREC_DURATION": "5"})
    plan = resolve_plan(env=env, source="test", output="-", fps="25")
    assert plan.settings is not None
    origins = {entry.setting.key: str(entry.origin) for entry in plan.settings}
    assert origins["fps"] == "--fps" and plan.source.fps == 25.0
    assert origins["crf"] == "CAPREC_CRF" and plan.encoding.crf == 20
    assert origins["duration"] == "CAPREC_DURATION" and plan.encoding.duration == 5.0
    assert origins["delay"] == f"config {clean_env}" and plan.delay == 2.0
    assert origins["codec"] == f"config {clean_env}"
    assert origins["preset"] == "default" and plan.encoding.preset is None


# Parsers ---------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [("1", True), ("YES", True), ("on", True), ("true", True),
                                                ("0", False), ("no", False), ("Off", False), ("false", False)])
def test_yes_no_words(text: str, expected: bool) -> None:
    assert opt.parse_bool(text, "CAPREC_CURSOR") is expected


@pytest.mark.parametrize(("setting", "text", "stored"), [
    (opt.FPS, "30", 30), (opt.FPS, "29.97", 29.97), (opt.DURATION, "90", 90), (opt.DURATION, "1m30s", "1m30s"),
    (opt.CRF, "23", 23), (opt.CURSOR, "no", False), (opt.PIPE_BUFFER, "4MiB", "4MiB"),
    (opt.PIPE_BUFFER, "65536", 65536), (opt.DISPLAY, "0", "0"), (opt.OUTPUT_DIR, "~/Videos", "~/Videos"),
])
def test_text_is_stored_as_the_natural_toml_type(setting: opt.Setting[Any], text: str, stored: Any) -> None:
    value = opt.text_to_toml(setting, text)
    assert value == stored and type(value) is type(stored)


def test_output_dir_expands_the_home_directory() -> None:
    assert opt.parse_directory("~/Videos", "CAPREC_OUTPUT_DIR") == Path.home() / "Videos"


# Errors: one line naming the culprit, exit 2, nothing created ----------------

ENV_ERRORS = [
    ("CAPREC_FPS", "abc", "CAPREC_FPS: 'abc' is not a number; use a frame rate such as 30"),
    ("CAPREC_FPS", "", "CAPREC_FPS: is empty; unset it or give a value such as 30"),
    ("CAPREC_FPS", "0", "CAPREC_FPS: '0' is out of range; use a frame rate from 1 to 240"),
    ("CAPREC_FPS", "-5", "CAPREC_FPS: '-5' is out of range"),
    ("CAPREC_FPS", "1e9", "CAPREC_FPS: '1e9' is out of range"),
    ("CAPREC_DURATION", "0", "CAPREC_DURATION: '0' must be longer than zero"),
    ("CAPREC_DURATION", "-1", "CAPREC_DURATION: '-1' is not a duration"),
    ("CAPREC_DURATION", "30d", "CAPREC_DURATION: '30d' is not a duration"),
    ("CAPREC_DURATION", "999h", "CAPREC_DURATION: '999h' is longer than 7 days"),
    ("CAPREC_REGION", "1281x720+0+0", "CAPREC_REGION: '1281x720+0+0' has an odd width or height"),
    ("CAPREC_CODEC", "h265", "CAPREC_CODEC: 'h265' is not supported"),
    ("CAPREC_PRESET", "", "CAPREC_PRESET: is empty"),
    ("CAPREC_CRF", "abc", "CAPREC_CRF: 'abc' is not a whole number"),
    ("CAPREC_CRF", "-1", "CAPREC_CRF: -1 is out of range; use 0 (best) to 51 (smallest)"),
    ("CAPREC_CRF", "52", "CAPREC_CRF: 52 is out of range"),
    ("CAPREC_SOURCE", "webcam", "CAPREC_SOURCE: 'webcam' is not a source; use one of screen, test"),
    ("CAPREC_PIPE_BUFFER", "0", "CAPREC_PIPE_BUFFER: '0' is out of range"),
    ("CAPREC_PIPE_BUFFER", "10GiB", "CAPREC_PIPE_BUFFER: '10GiB' is out of range"),
    ("CAPREC_PIPE_BUFFER", "lots", "CAPREC_PIPE_BUFFER: 'lots' is not a size"),
    ("CAPREC_CURSOR", "maybe", "CAPREC_CURSOR: 'maybe' is not a yes/no value"),
    ("CAPREC_CURSOR_FLUSH", "0", "CAPREC_CURSOR_FLUSH: '0' is out of range; use 0.05 to 60 seconds"),
    ("CAPREC_DELAY", "-1", "CAPREC_DELAY: '-1' is out of range; use 0 to 3600 seconds"),
    ("CAPREC_DELAY", "3601", "CAPREC_DELAY: '3601' is out of range"),
    ("CAPREC_DELAY", "soon", "CAPREC_DELAY: 'soon' is not a duration"),
    ("CAPREC_OUTPUT_DIR", "", "CAPREC_OUTPUT_DIR: is empty"),
    ("CAPREC_CONFIG", "", "CAPREC_CONFIG: is empty"),
    ("CAPREC_MODE", "movie", "CAPREC_MODE: 'movie' is not a mode; use instant or studio"),
    ("CAPREC_MODE", "", "CAPREC_MODE: is empty"),
    ("CAPREC_AUDIO", "", "CAPREC_AUDIO: is empty"),
    ("CAPREC_AUDIO", "hw:0,0", "CAPREC_AUDIO: 'hw:0,0' looks like an ALSA device; write alsa:hw:0,0"),
    ("CAPREC_AUDIO", "pulse:", "CAPREC_AUDIO: 'pulse:' names no device"),
]


@pytest.mark.parametrize(("name", "value", "message"), ENV_ERRORS, ids=[f"{n}={v!r}" for n, v, _ in ENV_ERRORS])
def test_bad_variable_is_one_line_exit_2_and_nothing_created(
        name: str, value: str, message: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        clean_env: Path) -> None:
    monkeypatch.setenv(name, value)
    # The variable's own flag is left out: a flag would win over it.
    args = [arg for flag, val in (("--source", "test"), ("--duration", "1")) if flag != f"--{name[7:].lower()}"
            for arg in (flag, val)]
    result = invoke("record", *args, "-o", str(tmp_path / "out.mp4"))
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: " + message), result.stderr
    assert "Traceback" not in result.output
    assert created_files(tmp_path, config=clean_env) == []


FLAG_ERRORS = [
    (("--fps", "0"), "error: --fps: '0' is out of range; use a frame rate from 1 to 240"),
    (("--fps", "abc"), "error: --fps: 'abc' is not a number; use a frame rate such as 30"),
    (("--crf", "99"), "error: --crf: 99 is out of range; use 0 (best) to 51 (smallest)"),
    (("--delay", "3601"), "error: --delay: '3601' is out of range; use 0 to 3600 seconds"),
    (("--delay", "-1"), "error: --delay: '-1' is out of range"),
    (("--source", "webcam"), "error: --source: 'webcam' is not a source"),
    (("--region", "640x480+0+0"), "error: --region: the test source has no screen to crop; drop --region"),
    (("--output-dir", "missing"), "error: --output-dir: missing is not a directory"),
]


@pytest.mark.parametrize(("args", "message"), FLAG_ERRORS, ids=[" ".join(a) for a, _ in FLAG_ERRORS])
def test_bad_flag_keeps_its_message(args: tuple[str, ...], message: str, tmp_path: Path, clean_env: Path) -> None:
    extra = () if args[0] == "--output-dir" else ("-o", str(tmp_path / "out.mp4"))
    result = invoke("record", "--source", "test", "-d", "1", *extra, *args)
    assert result.exit_code == 2, result.output
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith(message), result.stderr
    assert created_files(tmp_path, config=clean_env) == []


CONFIG_ERRORS = [
    ("[record\nfps = 3\n", "{path}: not valid TOML ("),
    ("[record]\nfsp = 3\n", "{path}: unknown key 'fsp' in [record] (did you mean 'fps'?); known keys: source, fps, "),
    ("[record]\nfps = true\n", "record.fps in {path}: must be a number or a string (e.g. fps = 30), "
                               "not the boolean true"),
    ("[record]\nfps = 0\n", "record.fps in {path}: 0 is out of range"),
    ("[record]\nfps = -30\n", "record.fps in {path}: -30 is out of range"),
    ("[record]\nfps = 1e9\n", "record.fps in {path}: 1000000000.0 is out of range"),
    ("[record]\ncrf = 23.5\n", "record.crf in {path}: must be an integer or a string (e.g. crf = 23), "
                               "not the number 23.5"),
    ("[record]\ncursor = \"yes\"\n", "record.cursor in {path}: must be true or false (e.g. cursor = true), "
                                     "not the string 'yes'"),
    ("[record]\ncodec = [\"libx264\"]\n", "record.codec in {path}: must be a string (e.g. codec = \"libx264\"), "
                                          "not an array"),
    ("[record]\nduration = 2024-01-01\n", "record.duration in {path}: must be a number or a string"),
    ("[record]\nduration = 0\n", "record.duration in {path}: 0 must be longer than zero"),
    ("[record]\nregion = \"1281x720+0+0\"\n", "record.region in {path}: '1281x720+0+0' has an odd width"),
    ("fps = 30\n", "{path}: key 'fps' must be in the [record] table"),
    ("[recording]\nfps = 30\n", "{path}: unknown key 'recording'; caprec reads only the [record] table"),
    ("record = 5\n", "{path}: 'record' must be a table"),
]


@pytest.mark.parametrize(("text", "message"), CONFIG_ERRORS, ids=[m.split(": ", 1)[1][:30] for _, m in CONFIG_ERRORS])
def test_bad_config_is_one_line_naming_key_and_file_exit_2(text: str, message: str, tmp_path: Path,
                                                           clean_env: Path) -> None:
    clean_env.write_text(text, encoding="utf-8")
    result = invoke("record", "--source", "test", "-d", "1", "-o", str(tmp_path / "out.mp4"))
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: " + message.format(path=clean_env)), result.stderr
    assert created_files(tmp_path, config=clean_env) == []


def test_a_config_ffmpeg_that_does_not_run_is_named(clean_env: Path, tmp_path: Path) -> None:
    write_config(clean_env, 'ffmpeg = "/nonexistent/ffmpeg"')
    result = invoke("record", "--source", "test", "-d", "1", "-o", str(tmp_path / "out.mp4"))
    assert result.exit_code == 3
    assert result.stderr.startswith(f"error: record.ffmpeg in {clean_env} names '/nonexistent/ffmpeg', "
                                    "which is not a working ffmpeg; fix the path or remove it")


def test_settings_error_is_a_setting_error_with_the_origin() -> None:
    with pytest.raises(SettingError) as info:
        opt.resolve_settings(flags={}, environ={"CAPREC_FPS": "abc"})
    assert info.value.origin == "CAPREC_FPS"


# Precedence end to end (dry run: nothing records) ---------------------------

def dry_run(*args: str) -> str:
    result = invoke("record", "--source", "test", "--dry-run", "-o", "-", *args)
    assert result.exit_code == 0, result.output
    return str(result.stdout)


def test_dry_run_follows_flag_then_variable_then_config(monkeypatch: pytest.MonkeyPatch, clean_env: Path) -> None:
    assert "rate=30 " in dry_run()
    write_config(clean_env, "fps = 15\ncrf = 30\nduration = 4")
    argv = dry_run()
    assert "rate=15 " in argv and "-crf 30 " in argv and "-t 4 " in argv
    monkeypatch.setenv("CAPREC_FPS", "20")
    monkeypatch.setenv("CAPREC_CRF", "25")
    argv = dry_run()
    assert "rate=20 " in argv and "-crf 25 " in argv and "-t 4 " in argv
    argv = dry_run("--fps", "12", "--crf", "18", "-d", "2")
    assert "rate=12 " in argv and "-crf 18 " in argv and "-t 2 " in argv


def test_a_configured_region_is_a_screen_default_not_applied_to_the_test_source(clean_env: Path) -> None:
    write_config(clean_env, 'region = "640x480+0+0"')
    assert "testsrc2=size=1280x720" in dry_run()


def test_output_dir_holds_default_named_recordings_only(clean_env: Path, tmp_path: Path) -> None:
    videos = tmp_path / "videos"
    videos.mkdir()
    write_config(clean_env, f'output_dir = "{videos}"')
    env = Environment(environ={CONFIG_ENV: str(clean_env)})
    plan = resolve_plan(env=env, source="test")
    assert plan.target.path is not None and plan.target.path.parent == videos
    assert plan.target.path.name.startswith("caprec-")
    plan = resolve_plan(env=env, source="test", output="talk.mp4")
    assert plan.target.path == Path("talk.mp4")


def test_missing_output_dir_names_the_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                               clean_env: Path) -> None:
    monkeypatch.setenv("CAPREC_OUTPUT_DIR", str(tmp_path / "nope"))
    result = invoke("record", "--source", "test", "-d", "1")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: CAPREC_OUTPUT_DIR: {tmp_path / 'nope'} is not a directory")
    assert created_files(tmp_path, config=clean_env) == []


# --delay ------------------------------------------------------------------------

def subprocess_env(config: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(opt.ENV_PREFIX) and k != "DISPLAY"}
    env[CONFIG_ENV] = str(config)
    env["NO_COLOR"] = "1"
    return env


def test_delay_counts_down_on_stderr_then_records(tmp_path: Path, clean_env: Path) -> None:
    out = tmp_path / "delayed.mp4"
    started = time.monotonic()
    result = subprocess.run(python_argv("record", "--source", "test", "-d", "1", "--delay", "1", "-o", str(out)),
                            cwd=tmp_path, env=subprocess_env(clean_env), capture_output=True, text=True,
                            timeout=DEADLINE_S, check=False)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert lines[0] == "recording starts in 1 s (Ctrl-C cancels)"
    saved = next(i for i, line in enumerate(lines) if line.startswith("saved: "))
    assert saved > 0
    assert elapsed >= 2.0  # the delay, then a 1 s recording
    assert out.stat().st_size > 0


def read_line(stream: IO[bytes], *, timeout: float) -> str:
    """One line from a child's pipe, polling until a deadline (never blocks past it)."""
    data = b""
    fd = stream.fileno()
    deadline = time.monotonic() + timeout
    while not data.endswith(b"\n"):
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"no line within {timeout:g} s (got {data!r})"
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            chunk = os.read(fd, 1)
            if not chunk:
                break
            data += chunk
    return data.decode()


def test_ctrl_c_during_the_delay_cancels_with_130_and_creates_nothing(tmp_path: Path, clean_env: Path) -> None:
    out = tmp_path / "never.mp4"
    proc = subprocess.Popen(python_argv("record", "--source", "test", "-d", "1", "--delay", "30", "-o", str(out)),
                            cwd=tmp_path, env=subprocess_env(clean_env), stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert proc.stderr is not None
        first = read_line(proc.stderr, timeout=DEADLINE_S)
        assert first.startswith("recording starts in 30 s")
        assert not out.exists()
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=DEADLINE_S)
        rest = proc.stderr.read().decode()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()
    assert code == 130
    assert "cancelled before recording started; nothing was created" in rest
    assert created_files(tmp_path, config=clean_env) == []


def test_quiet_delay_prints_nothing(tmp_path: Path, clean_env: Path) -> None:
    out = tmp_path / "quiet.mp4"
    result = subprocess.run(python_argv("record", "--source", "test", "-d", "1", "--delay", "1", "-q",
                                        "-o", str(out)), cwd=tmp_path, env=subprocess_env(clean_env),
                            capture_output=True, text=True, timeout=DEADLINE_S, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert out.exists()


class ClockedStop(StopControl):
    """A stop control whose waits move a fake clock instead of sleeping."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 100.0

    def clock(self) -> float:
        return self.now

    def wait(self, timeout: float) -> bool:
        self.now += timeout
        return False


def test_countdown_shows_each_whole_second_and_ends_on_time() -> None:
    stop = ClockedStop()
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=200)
    assert countdown(2.5, console=console, quiet=False, stop=stop, clock=stop.clock)
    assert out.getvalue().splitlines() == [f"recording starts in {n} s (Ctrl-C cancels)" for n in (3, 2, 1)]
    assert math.isclose(stop.now, 102.5)


def test_long_plain_countdown_prints_once_a_minute_then_each_of_the_last_seconds() -> None:
    stop = ClockedStop()
    out = io.StringIO()
    assert countdown(125, console=Console(file=out, force_terminal=False, width=200), quiet=False, stop=stop,
                     clock=stop.clock)
    shown = [int(line.split()[3]) for line in out.getvalue().splitlines()]
    assert shown == [125, 120, 60, *range(10, 0, -1)]


def test_countdown_cancelled_by_a_stop_request() -> None:
    stop = StopControl()
    stop.request()
    out = io.StringIO()
    assert not countdown(5, console=Console(file=out, force_terminal=False, width=200), quiet=True, stop=stop)
    assert out.getvalue() == ""
