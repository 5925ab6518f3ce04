"""Modes, buffers and audio for ``caprec record``: precedence, bad values, dry runs, studio bundles.

Precedence for the mode-dependent settings is::

    flag > CAPREC_<NAME>_<MODE> > CAPREC_<NAME> > config <name> > the mode's default

with the mode resolved first. Variables are set with monkeypatch only and the
config file lives in tmp_path (CAPREC_CONFIG), so nothing leaks between tests
and they can run in parallel. Every run is a ``--dry-run`` or a refusal:
nothing records, and each test checks that nothing was created.
"""

from __future__ import annotations

import json
import shlex
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from caprec.app import app
from caprec.capture.errors import SettingError
from caprec.capture.ffmpeg.argv import OUTPUT_QUEUE_MIN_MAJOR as FIRST_OUTPUT_QUEUE_MAJOR
from caprec.capture.ffmpeg.argv import AudioBackend, AudioSource
from caprec.capture.ffmpeg.binary import FFmpegBinary, probe_version
from caprec.capture.platform.audio import parse_audio
from caprec.capture.record.session import Mode
from caprec.commands.plan import resolve_plan
from caprec.env import Environment
from caprec.settings import schema as opt
from caprec.settings.config import init_config
from support.env import isolate
from support.files import read_only_directory
from support.xserver import XServer
from typer.testing import CliRunner

INSTANT_QUEUE = opt.DEFAULT_QUEUE_SIZE_INSTANT
STUDIO_QUEUE = opt.DEFAULT_QUEUE_SIZE_STUDIO
QUEUE_RANGE = "1 to 2048 packets"
PIPE_RANGE = "4.0 KiB to 256.0 MiB"
# Variables that would change what caprec does here; every test starts without them.
SCRUBBED = ("DISPLAY", "WAYLAND_DISPLAY", "XDG_SESSION_TYPE")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """No CAPREC_* variable from outside; the config file is tmp_path/config.toml (absent until written)."""
    yield isolate(monkeypatch, config=tmp_path / "config.toml", cwd=tmp_path, also=SCRUBBED)


@dataclass(frozen=True)
class Ran:
    code: int
    stdout: str
    stderr: str

    @property
    def argv(self) -> list[str]:
        """The FFmpeg command of a dry run (its first line; the rest are # comments)."""
        return shlex.split(self.stdout, comments=True)

    def setting(self, key: str) -> str:
        """The ``# key = value  (origin)`` line of a dry run, without the ``# ``."""
        lines = [line[2:] for line in self.stdout.splitlines() if line.startswith(f"# {key} = ")]
        assert len(lines) == 1, self.stdout
        return lines[0]


def invoke(*args: str) -> Ran:
    result = CliRunner().invoke(app, ["record", *args])
    assert isinstance(result.exception, SystemExit | None), result.exception
    return Ran(result.exit_code, result.stdout, result.stderr)


def dry_run(*args: str) -> Ran:
    ran = invoke("--source", "test", "--dry-run", *args)
    assert ran.code == 0, ran.stderr
    return ran


def write_config(path: Path, text: str) -> None:
    path.write_text("[record]\n" + text + "\n", encoding="utf-8")


def created(directory: Path, *, config: Path) -> list[str]:
    """Everything under ``directory`` but the config file: what a run left behind."""
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*") if p != config)


def input_queue(argv: list[str], source: str) -> int:
    """The ``-thread_queue_size`` of the input whose ``-i`` value starts with ``source``."""
    index = next(i for i, arg in enumerate(argv) if arg == "-i" and argv[i + 1].startswith(source))
    options = argv[:index]
    start = max((i for i, arg in enumerate(options) if arg == "-i"), default=0)
    own = options[start:]
    assert "-thread_queue_size" in own, argv
    return int(own[own.index("-thread_queue_size") + 1])


# Precedence: the full matrix ---------------------------------------------------

@dataclass(frozen=True)
class Knob:
    """A mode-dependent setting and one distinct value per origin (text, TOML, as a dry run shows it)."""

    setting: opt.Setting[Any]
    flag: str
    mode_var: str
    shared_var: str
    config: Any
    other_mode_var: str
    shown: dict[str, str]
    default: dict[Mode, str]


KNOBS = [
    Knob(opt.QUEUE_SIZE, flag="11", mode_var="22", shared_var="33", config=44, other_mode_var="55",
         shown={"flag": "11", "mode": "22", "shared": "33", "config": "44"},
         default={Mode.INSTANT: "96", Mode.STUDIO: "240"}),
    Knob(opt.PIPE_BUFFER, flag="64KiB", mode_var="128KiB", shared_var="256KiB", config="512KiB",
         other_mode_var="2MiB", shown={"flag": "64KiB", "mode": "128KiB", "shared": "256KiB", "config": "512KiB"},
         default={Mode.INSTANT: "1MiB", Mode.STUDIO: "1MiB"}),
]
LEVELS = ("flag", "mode", "shared", "config", "default")


def _other(mode: Mode) -> Mode:
    return Mode.STUDIO if mode is Mode.INSTANT else Mode.INSTANT


@pytest.mark.parametrize("mode", list(Mode), ids=str)
@pytest.mark.parametrize("knob", KNOBS, ids=[k.setting.key for k in KNOBS])
@pytest.mark.parametrize("level", LEVELS)
def test_flag_beats_mode_variable_beats_shared_variable_beats_config_beats_mode_default(
        knob: Knob, mode: Mode, level: str, monkeypatch: pytest.MonkeyPatch, clean_env: Path,
        tmp_path: Path) -> None:
    name = knob.setting.env[0]
    mode_var = opt.mode_variable(name, mode)
    # The other mode's variable is set at every level: it never counts.
    monkeypatch.setenv(opt.mode_variable(name, _other(mode)), knob.other_mode_var)
    wins_from = LEVELS.index(level)
    args = ["--mode", str(mode), "-o", "out"]
    if wins_from <= LEVELS.index("flag"):
        args += [knob.setting.flag, knob.flag]
    if wins_from <= LEVELS.index("mode"):
        monkeypatch.setenv(mode_var, knob.mode_var)
    if wins_from <= LEVELS.index("shared"):
        monkeypatch.setenv(name, knob.shared_var)
    if wins_from <= LEVELS.index("config"):
        value = f'"{knob.config}"' if isinstance(knob.config, str) else str(knob.config)
        write_config(clean_env, f"{knob.setting.key} = {value}")
    ran = dry_run(*args)
    origin = {"flag": knob.setting.flag, "mode": mode_var, "shared": name, "config": f"config {clean_env}",
              "default": "default"}[level]
    shown = knob.default[mode] if level == "default" else knob.shown[level]
    assert ran.setting(knob.setting.key) == f"{knob.setting.key} = {shown}  ({origin})"
    if knob.setting is opt.QUEUE_SIZE:
        assert input_queue(ran.argv, "testsrc2") == int(shown)
    assert created(tmp_path, config=clean_env) == []


@pytest.mark.parametrize("mode", list(Mode), ids=str)
def test_the_plan_carries_the_queue_size_to_every_input(mode: Mode, monkeypatch: pytest.MonkeyPatch,
                                                        tmp_path: Path) -> None:
    monkeypatch.setenv(opt.mode_variable("CAPREC_QUEUE_SIZE", mode), "77")
    monkeypatch.setenv(opt.mode_variable("CAPREC_PIPE_BUFFER", mode), "256KiB")
    monkeypatch.setenv("CAPREC_AUDIO", "test")
    plan = resolve_plan(env=Environment(), source="test", output="take", mode=str(mode))
    assert plan.mode is mode
    assert plan.queue_size == plan.source.queue_size == 77
    assert plan.audio == AudioSource(AudioBackend.TEST, queue_size=77)
    assert plan.pipe_buffer == 256 * 1024


def test_the_mode_comes_first_from_any_origin(monkeypatch: pytest.MonkeyPatch, clean_env: Path) -> None:
    monkeypatch.setenv("CAPREC_QUEUE_SIZE_STUDIO", "200")
    monkeypatch.setenv("CAPREC_QUEUE_SIZE_INSTANT", "100")
    write_config(clean_env, 'mode = "studio"')
    ran = dry_run("-o", "take")
    assert ran.setting("mode") == f"mode = studio  (config {clean_env})"
    assert ran.setting("queue_size") == "queue_size = 200  (CAPREC_QUEUE_SIZE_STUDIO)"
    monkeypatch.setenv("CAPREC_MODE", "instant")
    ran = dry_run("-o", "take.mp4")
    assert ran.setting("mode") == "mode = instant  (CAPREC_MODE)"
    assert ran.setting("queue_size") == "queue_size = 100  (CAPREC_QUEUE_SIZE_INSTANT)"
    ran = dry_run("--mode", "studio", "-o", "take")
    assert ran.setting("mode") == "mode = studio  (--mode)"
    assert ran.setting("queue_size") == "queue_size = 200  (CAPREC_QUEUE_SIZE_STUDIO)"


def test_an_instant_variable_does_not_touch_studio_even_when_bad(monkeypatch: pytest.MonkeyPatch,
                                                                 clean_env: Path, tmp_path: Path) -> None:
    monkeypatch.setenv("CAPREC_QUEUE_SIZE_INSTANT", "abc")  # not read in studio mode: not checked either
    monkeypatch.setenv("CAPREC_PIPE_BUFFER_INSTANT", "lots")
    ran = dry_run("--mode", "studio", "-o", "take")
    assert ran.setting("queue_size") == "queue_size = 240  (default)"
    assert ran.setting("pipe_buffer") == "pipe_buffer = 1MiB  (default)"
    ran = invoke("--source", "test", "-o", "take.mp4", "-d", "1")
    assert ran.code == 2
    # In instant mode they are read, and the first bad one in table order is reported.
    assert ran.stderr.startswith("error: CAPREC_PIPE_BUFFER_INSTANT: 'lots' is not a size")
    assert created(tmp_path, config=clean_env) == []


def test_config_show_lists_the_mode_variables_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAPREC_MODE", "studio")
    monkeypatch.setenv("CAPREC_QUEUE_SIZE", "64")
    result = CliRunner().invoke(app, ["config", "show", "--json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)["settings"]
    assert shown["mode"]["value"] == "studio" and shown["mode"]["origin"] == "CAPREC_MODE"
    assert shown["queue_size"] == {"value": 64, "origin": "CAPREC_QUEUE_SIZE", "origin_kind": "env",
                                   "flag": "--queue-size",
                                   "env": ["CAPREC_QUEUE_SIZE_STUDIO", "CAPREC_QUEUE_SIZE"]}
    assert shown["audio"]["value"] is None


def test_config_init_leaves_the_mode_and_the_per_mode_queue_size_out(clean_env: Path) -> None:
    written = init_config(clean_env)
    assert "mode" not in written and "queue_size" not in written
    text = clean_env.read_text()
    assert '#   mode = "studio"' in text and "#   queue_size = 96" in text


def test_help_names_every_variable() -> None:
    result = CliRunner().invoke(app, ["record", "--help"], env={"COLUMNS": "400"})
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    for name in ("$CAPREC_QUEUE_SIZE_INSTANT, $CAPREC_QUEUE_SIZE_STUDIO, $CAPREC_QUEUE_SIZE",
                 "$CAPREC_PIPE_BUFFER_INSTANT, $CAPREC_PIPE_BUFFER_STUDIO, $CAPREC_PIPE_BUFFER", "$CAPREC_MODE",
                 "$CAPREC_AUDIO"):
        assert name in text


# Bad values: one line naming the culprit and the range, exit 2, nothing created ------

BAD_QUEUE = [("abc", "'abc' is not a whole number"), ("0", "'0' is out of range"), ("-5", "'-5' is out of range"),
             ("2049", "'2049' is out of range"), ("99999999999999999999", "'99999999999999999999' is out of range"),
             ("1.5", "'1.5' is not a whole number"), (" ", "' ' is not a whole number"),
             ("", "is empty; unset it or give a value such as 96")]
BAD_PIPE = [("lots", "'lots' is not a size"), ("0", "'0' is out of range"), ("-1MiB", "'-1MiB' is not a size"),
            ("1GiB", "'1GiB' is out of range"), ("1KB", "'1KB' is out of range"),
            ("", "is empty; unset it or give a value such as 1MiB")]
BAD_VARIABLES = [
    pytest.param(variable, mode, value, message, QUEUE_RANGE, id=f"{variable}={value!r}")
    for variable, mode in (("CAPREC_QUEUE_SIZE", Mode.INSTANT), ("CAPREC_QUEUE_SIZE_INSTANT", Mode.INSTANT),
                           ("CAPREC_QUEUE_SIZE_STUDIO", Mode.STUDIO))
    for value, message in BAD_QUEUE
] + [
    pytest.param(variable, mode, value, message, PIPE_RANGE, id=f"{variable}={value!r}")
    for variable, mode in (("CAPREC_PIPE_BUFFER", Mode.STUDIO), ("CAPREC_PIPE_BUFFER_INSTANT", Mode.INSTANT),
                           ("CAPREC_PIPE_BUFFER_STUDIO", Mode.STUDIO))
    for value, message in BAD_PIPE
]


def assert_refused(ran: Ran, *needles: str) -> str:
    assert ran.code == 2, (ran.stdout, ran.stderr)
    lines = ran.stderr.splitlines()
    assert len(lines) == 1, ran.stderr
    assert lines[0].startswith("error: "), lines[0]
    assert "Traceback" not in ran.stderr
    for needle in needles:
        assert needle in lines[0], f"{needle!r} not in {lines[0]!r}"
    assert ran.stdout == ""
    return lines[0]


@pytest.mark.parametrize(("variable", "mode", "value", "message", "accepted"), BAD_VARIABLES)
@pytest.mark.parametrize("output", [None, "take"], ids=["default-name", "named"])
def test_bad_variable_stops_before_anything_starts(variable: str, mode: Mode, value: str, message: str,
                                                   accepted: str, output: str | None, clean_env: Path,
                                                   tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(variable, value)
    monkeypatch.setenv("CAPREC_MODE", str(mode))
    args = ["--source", "test", "-d", "1", *(("-o", output) if output else ())]
    line = assert_refused(invoke(*args), f"error: {variable}: ", message, accepted)
    assert line.startswith(f"error: {variable}: ")
    assert created(tmp_path, config=clean_env) == []


@pytest.mark.parametrize(("flag", "value", "message", "accepted"), [
    *[("--queue-size", value, message, QUEUE_RANGE) for value, message in BAD_QUEUE if value],
    ("--queue-size", "", "'' is not a whole number", QUEUE_RANGE),
    *[("--pipe-buffer", value, message, PIPE_RANGE) for value, message in BAD_PIPE if value],
    ("--pipe-buffer", "", "'' is not a size", PIPE_RANGE),
], ids=lambda v: repr(v) if isinstance(v, str) and len(v) < 24 else None)
@pytest.mark.parametrize("mode", list(Mode), ids=str)
def test_bad_flag_stops_before_anything_starts(flag: str, value: str, message: str, accepted: str, mode: Mode,
                                               clean_env: Path, tmp_path: Path) -> None:
    # A good variable does not rescue a bad flag: the flag is what was asked for.
    ran = invoke("--source", "test", "-d", "1", "--mode", str(mode), f"{flag}={value}")
    assert_refused(ran, f"error: {flag}: {message}", accepted)
    assert created(tmp_path, config=clean_env) == []


@pytest.mark.parametrize(("line", "message"), [
    ("queue_size = 0", "record.queue_size in {path}: 0 is out of range; use 1 to 2048 packets"),
    ("queue_size = 4096", "record.queue_size in {path}: 4096 is out of range; use 1 to 2048 packets"),
    ("queue_size = -1", "record.queue_size in {path}: -1 is out of range; use 1 to 2048 packets"),
    ("queue_size = 9.5", "record.queue_size in {path}: must be an integer or a string (e.g. queue_size = 96)"),
    ("queue_size = \"many\"", "record.queue_size in {path}: 'many' is not a whole number; use 1 to 2048"),
    ("queue_size = true", "record.queue_size in {path}: must be an integer or a string"),
    ("pipe_buffer = 0", "record.pipe_buffer in {path}: 0 is out of range; use 4.0 KiB to 256.0 MiB"),
    ("pipe_buffer = \"1TiB\"", "record.pipe_buffer in {path}: '1TiB' is not a size; use 4.0 KiB to 256.0 MiB"),
    ("mode = \"live\"", "record.mode in {path}: 'live' is not a mode; use instant or studio"),
    ("audio = \"\"", "record.audio in {path}: is empty"),
])
def test_bad_config_value_names_the_key_and_the_file(line: str, message: str, clean_env: Path,
                                                     tmp_path: Path) -> None:
    write_config(clean_env, line)
    assert_refused(invoke("--source", "test", "-d", "1"), "error: " + message.format(path=clean_env))
    assert created(tmp_path, config=clean_env) == []


def test_config_set_checks_the_range(clean_env: Path) -> None:
    result = CliRunner().invoke(app, ["config", "set", "queue_size", "5000"])
    assert result.exit_code == 2
    assert result.stderr == "error: queue_size: 5000 is out of range; use 1 to 2048 packets\n"
    assert not clean_env.exists()
    assert CliRunner().invoke(app, ["config", "set", "queue-size", "128"]).exit_code == 0
    assert "queue_size = 128" in clean_env.read_text()


def test_a_bad_mode_is_reported_before_a_bad_queue_size(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                        clean_env: Path) -> None:
    monkeypatch.setenv("CAPREC_MODE", "studo")
    monkeypatch.setenv("CAPREC_QUEUE_SIZE", "0")
    assert_refused(invoke("--source", "test"), "error: CAPREC_MODE: 'studo' is not a mode; use instant or studio")
    assert created(tmp_path, config=clean_env) == []


# Dry runs -----------------------------------------------------------------------

def test_instant_dry_run_queues_96_on_the_capture_input_and_muxes_audio(monkeypatch: pytest.MonkeyPatch,
                                                                        tmp_path: Path, clean_env: Path) -> None:
    ran = dry_run("-o", "talk.mp4", "--audio", "test", "-d", "2")
    argv = ran.argv
    assert input_queue(argv, "testsrc2") == INSTANT_QUEUE
    assert input_queue(argv, "sine=") == INSTANT_QUEUE
    assert "-an" not in argv and argv[argv.index("-c:a") + 1] == "aac"
    assert argv.count("pipe:1") == 1 and not any(arg.startswith("file:") for arg in argv)
    assert f"# pipe:1 -> {tmp_path / 'talk.mp4'}" in ran.stdout.splitlines()
    assert ran.setting("queue_size") == "queue_size = 96  (default)"
    assert ran.setting("mode") == "mode = instant  (default)"
    assert ran.setting("audio") == "audio = test  (--audio)"
    assert ran.setting("output") == "output = talk.mp4  (--output)"
    assert created(tmp_path, config=clean_env) == []


def test_studio_dry_run_queues_240_and_writes_audio_beside_the_video(monkeypatch: pytest.MonkeyPatch,
                                                                     tmp_path: Path, clean_env: Path) -> None:
    monkeypatch.setenv("CAPREC_AUDIO", "test")
    ran = dry_run("--mode", "studio", "-o", "talk")
    argv = ran.argv
    bundle = tmp_path / "talk.caprec"
    audio = bundle / "segments" / "1" / "audio.m4a"
    assert input_queue(argv, "testsrc2") == STUDIO_QUEUE
    assert input_queue(argv, "sine=") == STUDIO_QUEUE
    # The video output has no audio; the audio has its own output, after the video's pipe.
    pipe = argv.index("pipe:1")
    assert "-an" in argv[:pipe]
    assert argv[argv.index(f"file:{audio}") - 1] != "-i"
    assert argv.index(f"file:{audio}") > pipe
    assert f"# audio -> {audio}" in ran.stdout.splitlines()
    assert f"# pipe:1 -> {bundle}/segments/1/display.mp4 (the bundle is created when recording starts)" in ran.stdout
    assert ran.setting("queue_size") == "queue_size = 240  (default)"
    assert ran.setting("audio") == "audio = test  (CAPREC_AUDIO)"
    assert ran.setting("output") == "output = talk.caprec  (--output)"
    assert created(tmp_path, config=clean_env) == []  # the bundle is not created by planning


def test_dry_run_names_the_studio_variable_it_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAPREC_QUEUE_SIZE_STUDIO", "240")
    monkeypatch.setenv("CAPREC_QUEUE_SIZE", "12")
    ran = dry_run("--mode", "studio", "-o", "x")
    assert "# queue_size = 240  (CAPREC_QUEUE_SIZE_STUDIO)" in ran.stdout.splitlines()
    ran = dry_run("-o", "x.mp4")
    assert "# queue_size = 12  (CAPREC_QUEUE_SIZE)" in ran.stdout.splitlines()


def test_ffmpeg_7_and_later_also_queue_each_output(tmp_path: Path, clean_env: Path) -> None:
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    bundled = str(imageio_ffmpeg.get_ffmpeg_exe())
    version = probe_version(bundled) or "none"
    major = FFmpegBinary(bundled, version, "imageio-ffmpeg").major
    if major is None or major < FIRST_OUTPUT_QUEUE_MAJOR:
        pytest.skip(f"needs FFmpeg {FIRST_OUTPUT_QUEUE_MAJOR} or later; imageio-ffmpeg has {version}")
    ran = dry_run("--ffmpeg", bundled, "--mode", "studio", "--audio", "test", "-o", "take", "--queue-size", "123")
    argv = ran.argv
    pipe = argv.index("pipe:1")
    audio = next(i for i, arg in enumerate(argv) if arg.startswith("file:"))
    last_input = max(i for i, arg in enumerate(argv) if arg == "-i")
    assert "-thread_queue_size" in argv[last_input + 2:pipe]  # the video output
    assert "-thread_queue_size" in argv[pipe + 1:audio]  # the audio output
    assert argv.count("123") == 4  # two inputs, two outputs
    assert created(tmp_path, config=clean_env) == []


def test_ffmpeg_5_queues_only_the_inputs(clean_env: Path) -> None:
    system = shutil.which("ffmpeg")
    version = (probe_version(system) if system else None) or "none"
    major = FFmpegBinary(system or "", version, "PATH").major
    if system is None or major is None or major >= FIRST_OUTPUT_QUEUE_MAJOR:
        pytest.skip(f"needs FFmpeg 5 or 6 on PATH, not {version}")
    argv = dry_run("--ffmpeg", system, "--audio", "test", "-o", "x.mp4").argv
    assert argv.count("-thread_queue_size") == 2
    assert all(argv[i + 2] == "-i" for i, arg in enumerate(argv) if arg == "-thread_queue_size")


@pytest.mark.x11
def test_studio_hides_the_pointer_and_logs_the_cursor_in_the_bundle(xvfb: XServer, monkeypatch: pytest.MonkeyPatch,
                                                                    tmp_path: Path, clean_env: Path) -> None:
    monkeypatch.setenv("DISPLAY", xvfb.display)
    instant = dry_run_screen("-o", "a.mp4")
    assert instant.argv[instant.argv.index("-draw_mouse") + 1] == "1"
    # Instant mode draws the pointer in: no cursor log unless asked for.
    assert not any(line.startswith("# cursor log ->") for line in instant.stdout.splitlines())
    assert "# cursor = off  (default)" in instant.stdout.splitlines()
    logged = dry_run_screen("-o", "a.mp4", "--cursor")
    assert f"# cursor log -> {tmp_path / 'a.cursor.ndjson'}" in logged.stdout.splitlines()
    studio = dry_run_screen("--mode", "studio", "-o", "b")
    assert studio.argv[studio.argv.index("-draw_mouse") + 1] == "0"
    assert input_queue(studio.argv, xvfb.display) == STUDIO_QUEUE
    assert f"# cursor log -> {tmp_path / 'b.caprec' / 'cursor.ndjson'}" in studio.stdout.splitlines()
    plan = resolve_plan(env=Environment(), mode="studio", output="c")
    assert plan.cursor is not None and plan.cursor.path == Path("c.caprec") / "cursor.ndjson"
    assert plan.source.draw_mouse is False and plan.bundle == Path("c.caprec")
    assert created(tmp_path, config=clean_env) == []


def dry_run_screen(*args: str) -> Ran:
    ran = invoke("--dry-run", *args)
    assert ran.code == 0, ran.stderr
    return ran


# Studio bundles: names and refusals ------------------------------------------------

@pytest.mark.parametrize(("given", "bundle"), [("talk", "talk.caprec"), ("talk.caprec", "talk.caprec"),
                                              ("take.v2", "take.v2.caprec"), ("sub/talk", "sub/talk.caprec")])
def test_the_bundle_suffix_is_appended_when_missing(given: str, bundle: str, tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    plan = resolve_plan(env=Environment(), source="test", mode="studio", output=given)
    assert plan.target.path == plan.bundle == Path(bundle)
    assert not (tmp_path / bundle).exists()


def test_the_default_bundle_goes_to_output_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    videos = tmp_path / "videos"
    videos.mkdir()
    monkeypatch.setenv("CAPREC_OUTPUT_DIR", str(videos))
    plan = resolve_plan(env=Environment(), source="test", mode="studio")
    assert plan.bundle is not None and plan.bundle.parent == videos
    assert plan.bundle.name.startswith("caprec-") and plan.bundle.suffix == ".caprec"
    assert list(videos.iterdir()) == []


def test_studio_to_stdout_is_refused_naming_where_the_mode_came_from(monkeypatch: pytest.MonkeyPatch,
                                                                     tmp_path: Path, clean_env: Path) -> None:
    assert_refused(invoke("--source", "test", "--mode", "studio", "-o", "-"),
                   "error: --mode: studio mode writes a bundle directory, which cannot go to stdout")
    monkeypatch.setenv("CAPREC_MODE", "studio")
    assert_refused(invoke("--source", "test", "-o", "-"), "error: CAPREC_MODE: studio mode writes a bundle")
    assert created(tmp_path, config=clean_env) == []


@pytest.mark.parametrize("overwrite", [False, True], ids=["plain", "overwrite"])
def test_a_non_empty_directory_is_never_replaced(overwrite: bool, tmp_path: Path, clean_env: Path) -> None:
    bundle = tmp_path / "talk.caprec"
    bundle.mkdir()
    (bundle / "recording.toml").write_text("status = \"complete\"\n")
    before = created(tmp_path, config=clean_env)
    ran = invoke("--source", "test", "--mode", "studio", "-o", "talk", *(("--overwrite",) if overwrite else ()))
    assert_refused(ran, f"{bundle.name} already exists and is not empty", "never deletes a directory",
                   "even with --overwrite")
    assert created(tmp_path, config=clean_env) == before
    assert (bundle / "recording.toml").read_text() == "status = \"complete\"\n"


@pytest.mark.parametrize(("prepare", "message"), [
    (lambda p: p.mkdir(), "already exists (empty)"),
    (lambda p: p.write_text("x"), "exists and is not a directory; caprec does not replace a file with a bundle"),
    (lambda p: p.symlink_to(p.parent / "nowhere"), "exists and is not a directory"),
], ids=["empty-directory", "file", "dangling-symlink"])
def test_an_existing_bundle_path_is_refused_even_with_overwrite(prepare: Any, message: str, tmp_path: Path,
                                                                clean_env: Path) -> None:
    prepare(tmp_path / "talk.caprec")
    before = created(tmp_path, config=clean_env)
    assert_refused(invoke("--source", "test", "--mode", "studio", "-o", "talk.caprec", "--overwrite"), message)
    assert created(tmp_path, config=clean_env) == before


@pytest.mark.parametrize(("args", "message"), [
    (("-o", "talk.mp4"), "--output: talk.mp4 is a media file name, but studio mode (--mode) writes a bundle "
                         "directory; use -o talk.caprec or --mode instant"),
    (("-o", "."), "--output: '.' names no bundle"),
    (("-o", "missing/talk"), "does not exist; create it first"),
])
def test_bad_bundle_names_are_refused(args: tuple[str, ...], message: str, tmp_path: Path, clean_env: Path) -> None:
    assert_refused(invoke("--source", "test", "--mode", "studio", *args), message)
    assert created(tmp_path, config=clean_env) == []


def test_an_unwritable_parent_is_refused(tmp_path: Path, clean_env: Path) -> None:
    with read_only_directory(tmp_path / "locked"):  # read-only even for root
        assert_refused(invoke("--source", "test", "--mode", "studio", "-o", "locked/talk"), "is not writable")


# Audio: the pure mapping per platform ------------------------------------------------

AUDIO_CASES = [
    ("linux", "test", AudioSource(AudioBackend.TEST)),
    ("linux", "default", AudioSource(AudioBackend.PULSE, "default")),
    ("linux", "alsa_input.usb-mic.analog-stereo", AudioSource(AudioBackend.PULSE, "alsa_input.usb-mic.analog-stereo")),
    ("linux", "pulse:default", AudioSource(AudioBackend.PULSE, "default")),
    ("linux", "pulse:Mic (USB).monitor", AudioSource(AudioBackend.PULSE, "Mic (USB).monitor")),
    ("linux", "alsa:hw:0,0", AudioSource(AudioBackend.ALSA, "hw:0,0")),
    ("linux", "ALSA:default", AudioSource(AudioBackend.ALSA, "default")),
    ("freebsd14", "default", AudioSource(AudioBackend.PULSE, "default")),
    ("darwin", "test", AudioSource(AudioBackend.TEST)),
    ("darwin", "0", AudioSource(AudioBackend.AVFOUNDATION, "0")),
    ("darwin", "MacBook Pro Microphone", AudioSource(AudioBackend.AVFOUNDATION, "MacBook Pro Microphone")),
    ("darwin", "default", AudioSource(AudioBackend.AVFOUNDATION, "default")),
    ("win32", "test", AudioSource(AudioBackend.TEST)),
    ("win32", "Microphone (Realtek(R) Audio)", AudioSource(AudioBackend.DSHOW, "Microphone (Realtek(R) Audio)")),
    ("win32", " Headset ", AudioSource(AudioBackend.DSHOW, "Headset")),
]


@pytest.mark.parametrize(("platform", "text", "expected"), AUDIO_CASES,
                         ids=[f"{p}:{t.strip()}" for p, t, _ in AUDIO_CASES])
def test_audio_names_map_to_the_platform_input(platform: str, text: str, expected: AudioSource) -> None:
    assert parse_audio(text, platform=platform, origin="--audio") == expected


AUDIO_ERRORS = [
    ("linux", "", "--audio: is empty"),
    ("linux", "pulse:", "--audio: 'pulse:' names no device; write pulse:NAME, e.g. pulse:default"),
    ("linux", "alsa: ", "--audio: 'alsa:' names no device; write alsa:NAME, e.g. alsa:hw:0,0"),
    ("linux", "hw:1,0", "--audio: 'hw:1,0' looks like an ALSA device; write alsa:hw:1,0"),
    ("linux", "dshow:Mic", "--audio: 'dshow:Mic': dshow: is another platform's audio input"),
    ("linux", "jack:system", "--audio: 'jack:system': jack: is an unknown audio input"),
    ("darwin", "pulse:default", "--audio: 'pulse:default': pulse: is a Linux input; on macOS give an avfoundation"),
    ("darwin", "1:0", "--audio: '1:0' contains ':', which FFmpeg's avfoundation input would split"),
    ("win32", "default", "--audio: DirectShow has no default audio device"),
    ("win32", "alsa:hw:0", "--audio: 'alsa:hw:0': alsa: is a Linux input; on Windows give a DirectShow"),
    ("win32", "audio=Mic:x", "--audio: 'audio=Mic:x' contains ':', which FFmpeg's dshow input would split"),
]


@pytest.mark.parametrize(("platform", "text", "message"), AUDIO_ERRORS,
                         ids=[f"{p}:{t!r}" for p, t, _ in AUDIO_ERRORS])
def test_bad_audio_names_say_what_to_write(platform: str, text: str, message: str) -> None:
    with pytest.raises(SettingError) as info:
        parse_audio(text, platform=platform, origin="--audio")
    assert str(info.value).startswith(message), str(info.value)
    assert info.value.origin == "--audio"


def test_audio_none_overrides_a_variable_and_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_plan(env=Environment(), source="test", output="-").audio is None
    monkeypatch.setenv("CAPREC_AUDIO", "test")
    assert resolve_plan(env=Environment(), source="test", output="-").audio is not None
    plan = resolve_plan(env=Environment(), source="test", output="-", audio="none")
    assert plan.audio is None
    assert plan.settings is not None and str(plan.settings.origin(opt.AUDIO)) == "--audio"


def test_a_bad_audio_variable_is_one_line_exit_2(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                 clean_env: Path) -> None:
    monkeypatch.setenv("CAPREC_AUDIO", "plughw:1")
    assert_refused(invoke("--source", "test", "-o", "x.mp4"),
                   "error: CAPREC_AUDIO: 'plughw:1' looks like an ALSA device; write alsa:plughw:1")
    assert created(tmp_path, config=clean_env) == []
