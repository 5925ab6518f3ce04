"""``caprec`` at the command line: version, help, dry run, and every way to get the input wrong.

Most tests run caprec as a real subprocess (``python -m caprec``) so that exit
codes, stdout/stderr separation and tracebacks are exactly what a shell sees.
The matrix of bad inputs runs the same Typer app in-process with CliRunner
(same code path, without a 1 s interpreter start per case); a few of those
cases also run as subprocesses.
"""

from __future__ import annotations

import shlex
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from caprec.app import app
from caprec.capture import __version__
from caprec.capture.ffmpeg.argv import DEFAULT_TEST_SIZE, Backend, Encoding, VideoSource, build_record_argv
from caprec.capture.ffmpeg.binary import FFmpegBinary, probe_version
from caprec.exit import ExitStatus
from caprec.settings.schema import DEFAULT_QUEUE_SIZE_INSTANT
from support.env import cli_runner_unset
from support.fake_ffmpeg import wrapped_ffmpeg
from support.run import RunCaprec
from support.xserver import XServer
from typer.testing import CliRunner


@dataclass(frozen=True)
class Ran:
    """What a caprec run printed and returned, in-process or not."""

    returncode: int
    stdout: str
    stderr: str


RunInProcess = Callable[[list[str]], Ran]


@pytest.fixture
def run_in_process(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory,
                   monkeypatch: pytest.MonkeyPatch) -> RunInProcess:
    """Invoke the Typer app with CliRunner in ``tmp_path``, with the same scrubbed environment as subprocesses."""
    monkeypatch.chdir(tmp_path)
    env = {**cli_runner_unset(), "XDG_CONFIG_HOME": str(tmp_path_factory.mktemp("xdg-config")), "NO_COLOR": "1"}

    def run(args: list[str]) -> Ran:
        result = CliRunner().invoke(app, args, env=env)
        # Anything but SystemExit would be a traceback in a real shell.
        assert isinstance(result.exception, SystemExit | None), result.exception
        return Ran(result.exit_code, result.stdout, result.stderr)

    return run


def snapshot(directory: Path) -> dict[str, bytes]:
    """Every file under ``directory`` with its contents (to prove nothing was created or changed)."""
    return {str(p.relative_to(directory)): p.read_bytes() if p.is_file() else b"<dir>"
            for p in sorted(directory.rglob("*"))}


def assert_one_error_line(stderr: str, *needles: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{stderr}"
    line = lines[0]
    assert line.startswith("error: "), line
    assert "Traceback" not in stderr
    for needle in needles:
        assert needle in line, f"{needle!r} not in {line!r}"
    return line


def test_version(run_caprec: RunCaprec, tmp_path: Path) -> None:
    result = run_caprec(["--version"], cwd=tmp_path)
    assert (result.returncode, result.stdout, result.stderr) == (0, f"caprec {__version__}\n", "")


def test_help_shows_commands_and_examples(run_caprec: RunCaprec, tmp_path: Path) -> None:
    result = run_caprec(["--help"], cwd=tmp_path)
    assert result.returncode == 0
    assert "record" in result.stdout
    assert "Examples:" in result.stdout
    assert "caprec record --source test --duration 5 -o demo.mp4" in result.stdout


def test_no_arguments_shows_help(run_caprec: RunCaprec, tmp_path: Path) -> None:
    result = run_caprec([], cwd=tmp_path)
    assert "Usage:" in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_record_help_shows_options_and_examples(run_caprec: RunCaprec, tmp_path: Path) -> None:
    result = run_caprec(["record", "--help"], cwd=tmp_path)
    assert result.returncode == 0
    for option in ("--output", "--duration", "--region", "--fps", "--codec", "--dry-run", "--overwrite"):
        assert option in result.stdout
    assert "Examples:" in result.stdout
    assert "caprec record --source test --duration 3 -o - | ffprobe -" in result.stdout
    assert snapshot(tmp_path) == {}


def test_dry_run_prints_the_exact_ffmpeg_command(run_caprec: RunCaprec, tmp_path: Path) -> None:
    result = run_caprec(["record", "--source", "test", "-d", "2", "--fps", "25", "-o", "out.mp4", "--dry-run"],
                        cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    ffmpeg = shutil.which("ffmpeg")
    assert ffmpeg is not None
    version = probe_version(ffmpeg)
    assert version is not None
    expected = build_record_argv(VideoSource(Backend.LAVFI, fps=25.0, device=DEFAULT_TEST_SIZE,
                                             queue_size=DEFAULT_QUEUE_SIZE_INSTANT),
                                 Encoding(duration=2.0), ffmpeg_path=ffmpeg,
                                 ffmpeg_major=FFmpegBinary(ffmpeg, version, "PATH").major,
                                 output_queue_size=DEFAULT_QUEUE_SIZE_INSTANT)
    # The command on the first line; the settings after it are shell comments.
    assert all(line.startswith("# ") for line in result.stdout.splitlines()[1:])
    assert shlex.split(result.stdout, comments=True) == expected
    assert "-progress pipe:2" in result.stdout
    assert snapshot(tmp_path) == {}  # a dry run creates nothing


@pytest.mark.parametrize(("extra", "period"), [([], "0.5"), (["--quiet"], "1"),
                                               (["--quiet", "--stats-file", "stats.json"], "0.5")],
                         ids=["shown", "quiet", "quiet-with-stats-file"])
def test_dry_run_shows_the_progress_period_the_recording_runs(run_caprec: RunCaprec, tmp_path: Path,
                                                               extra: list[str], period: str) -> None:
    """No one reads a quiet recording's live stats: FFmpeg reports progress once a second, and --dry-run says so."""
    ran = tmp_path / "ran.txt"
    # The recording's own ffmpeg (the only one with -progress pipe:2) writes its argv down, one per line.
    script = f'case "$*" in *"-progress pipe:2"*) printf "%s\\n" "$@" > {ran};; esac'
    ffmpeg = wrapped_ffmpeg(tmp_path / "ffmpeg", script)
    args = ["record", "--source", "test", "-d", "1", "--fps", "10", "-o", "out.mp4", "--ffmpeg", str(ffmpeg), *extra]
    dry = run_caprec([*args, "--dry-run"], cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr
    shown = shlex.split(dry.stdout, comments=True)
    assert shown[shown.index("-stats_period") + 1] == period
    real = run_caprec(args, cwd=tmp_path)
    assert real.returncode == 0, real.stderr
    assert ran.read_text().splitlines() == shown[1:]  # the very command, after the binary's path


BAD_INPUT = [
    pytest.param(["--source", "test", "--fps", "0"], "--fps: '0' is out of range", id="fps-zero"),
    pytest.param(["--source", "test", "--fps", "abc"], "--fps: 'abc' is not a number", id="fps-abc"),
    pytest.param(["--source", "test", "-d", "0"], "--duration: '0' must be longer than zero", id="duration-zero"),
    pytest.param(["--source", "test", "-d", "1m70"], "--duration: '1m70' is not a duration", id="duration-1m70"),
    pytest.param(["--region", "1281x720+0+0"], "--region: '1281x720+0+0' has an odd width", id="region-odd"),
    pytest.param(["--region", "garbage"], "--region: 'garbage' is not a region", id="region-garbage"),
    pytest.param(["--source", "test", "--region", "640x480+0+0"], "--region: the test source has no screen",
                 id="region-on-test-source"),
    pytest.param(["--source", "test", "--codec", "foo"], "--codec: 'foo' is not supported", id="codec-foo"),
    pytest.param(["--source", "nope"], "--source: 'nope' is not a source", id="source-nope"),
    pytest.param(["--source", "test", "--crf", "99"], "--crf: 99 is out of range", id="crf-99"),
    pytest.param(["--source", "test", "--pipe-buffer", "1KB"], "--pipe-buffer: '1KB' is out of range",
                 id="pipe-buffer-small"),
    pytest.param(["--source", "test", "-o", "missing/out.mp4"], "missing does not exist", id="output-dir-missing"),
]


def bad_input_argv(args: list[str]) -> list[str]:
    output = [] if "-o" in args else ["-o", "out.mp4"]
    duration = [] if "-d" in args else ["-d", "2"]
    return ["record", *duration, *output, *args]


@pytest.mark.parametrize(("args", "message"), BAD_INPUT)
def test_bad_input_is_one_error_line_exit_2_and_no_file(run_in_process: RunInProcess, tmp_path: Path,
                                                        args: list[str], message: str) -> None:
    result = run_in_process(bad_input_argv(args))
    assert result.returncode == ExitStatus.USAGE == 2
    assert_one_error_line(result.stderr, message)
    assert result.stdout == ""
    assert snapshot(tmp_path) == {}


@pytest.mark.parametrize(("args", "message"), [BAD_INPUT[0], BAD_INPUT[3], BAD_INPUT[5]])
def test_bad_input_in_a_real_process(run_caprec: RunCaprec, tmp_path: Path, args: list[str], message: str) -> None:
    result = run_caprec(bad_input_argv(args), cwd=tmp_path)
    assert result.returncode == 2
    assert_one_error_line(result.stderr, message)
    assert result.stdout == ""
    assert snapshot(tmp_path) == {}


def test_bad_input_without_output_creates_no_default_file(run_in_process: RunInProcess, tmp_path: Path) -> None:
    result = run_in_process(["record", "--source", "test", "--fps", "0"])
    assert result.returncode == 2
    assert_one_error_line(result.stderr, "--fps")
    assert snapshot(tmp_path) == {}


def test_existing_output_is_refused_and_unchanged(run_caprec: RunCaprec, tmp_path: Path) -> None:
    existing = tmp_path / "take1.mp4"
    existing.write_bytes(b"an earlier recording")
    before = snapshot(tmp_path)
    result = run_caprec(["record", "--source", "test", "-d", "2", "-o", "take1.mp4"], cwd=tmp_path)
    assert result.returncode == 2
    assert_one_error_line(result.stderr, "take1.mp4 already exists", "--overwrite")
    assert snapshot(tmp_path) == before


def test_output_that_is_a_directory_is_refused(run_in_process: RunInProcess, tmp_path: Path) -> None:
    (tmp_path / "videos").mkdir()
    result = run_in_process(["record", "--source", "test", "-d", "2", "-o", "videos"])
    assert result.returncode == 2
    assert_one_error_line(result.stderr, "videos is a directory")
    assert snapshot(tmp_path) == {"videos": b"<dir>"}


def test_broken_ffmpeg_variable_is_an_environment_error(run_caprec: RunCaprec, caprec_env: dict[str, str],
                                                       tmp_path: Path) -> None:
    env = {**caprec_env, "CAPREC_FFMPEG": "/nonexistent"}
    result = run_caprec(["record", "--source", "test", "-d", "2", "-o", "out.mp4"], cwd=tmp_path, env=env)
    assert result.returncode == ExitStatus.ENVIRONMENT == 3
    assert_one_error_line(result.stderr, "CAPREC_FFMPEG", "'/nonexistent'", "fix the path or remove it")
    assert snapshot(tmp_path) == {}


def test_broken_ffmpeg_flag_is_an_environment_error(run_in_process: RunInProcess, tmp_path: Path) -> None:
    result = run_in_process(["record", "--source", "test", "-d", "2", "-o", "out.mp4", "--ffmpeg", "/no/ffmpeg"])
    assert result.returncode == 3
    assert_one_error_line(result.stderr, "--ffmpeg names '/no/ffmpeg'")
    assert snapshot(tmp_path) == {}


def test_no_display_for_the_screen_is_an_environment_error(run_caprec: RunCaprec, tmp_path: Path) -> None:
    result = run_caprec(["record", "-d", "2", "-o", "out.mp4"], cwd=tmp_path)  # caprec_env has no DISPLAY
    assert result.returncode == 3
    assert_one_error_line(result.stderr, "DISPLAY is not set", "--source test")
    assert snapshot(tmp_path) == {}


def test_pure_wayland_is_named(run_in_process: RunInProcess, monkeypatch: pytest.MonkeyPatch,
                               tmp_path: Path) -> None:
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    result = run_in_process(["record", "-d", "2", "-o", "out.mp4"])
    assert result.returncode == 3
    assert_one_error_line(result.stderr, "Wayland session without XWayland")
    assert snapshot(tmp_path) == {}


@pytest.mark.x11
def test_region_outside_the_screen_is_refused(run_caprec: RunCaprec, caprec_env: dict[str, str], xvfb: XServer,
                                              tmp_path: Path) -> None:
    env = {**caprec_env, "DISPLAY": xvfb.display}
    result = run_caprec(["record", "-d", "2", "-o", "out.mp4", "--region", "640x480+642+0"], cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert_one_error_line(result.stderr, "640x480+642+0 lies outside the 1280x720 screen")
    assert snapshot(tmp_path) == {}


@pytest.mark.parametrize(("args", "message"), [
    (["record", "--bogus"], "error: No such option: --bogus (Possible options: --verbose); see caprec record --help"),
    (["record", "--fps"], "error: Option '--fps' requires an argument"),
    (["cursor", "summary"], "error: Missing argument 'PATH'; see caprec cursor summary --help"),
])
def test_usage_errors_are_one_line(run_caprec: RunCaprec, tmp_path: Path, args: list[str], message: str) -> None:
    result = run_caprec(args, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message), result.stderr
    assert list(tmp_path.iterdir()) == []
