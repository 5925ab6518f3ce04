"""Bad input never costs a file: one ``error:`` line naming the problem and the fix, exit 2, nothing touched.

One parametrized test walks every kind of bad input (flags, ``CAPREC_*``
variables, the config file, batch plans, output paths). Most cases run the
Typer app in-process with CliRunner (the same code path as the shell,
without a second of interpreter start-up each); a few run as real
subprocesses. Then awkward but valid paths (spaces, quotes, unicode, a
leading ``-``, ``;``) are recorded to and read back with ffprobe.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from caprec.app import app
from caprec.exit import ExitStatus
from caprec.settings.schema import SETTINGS
from support.env import cli_runner_unset
from support.files import read_only_directory
from support.media import ffprobe
from support.run import RunCaprec
from support.xserver import XServer
from typer.testing import CliRunner

EXISTING = "existing.mp4"
EXISTING_BYTES = b"an earlier recording: must survive every bad command\n"
CONFIG_DIR = "xdg"
READ_ONLY_DIR = "read-only"
HAS_QUEUE_SIZE = any(setting.key == "queue_size" for setting in SETTINGS)
AWKWARD_FPS = 10
AWKWARD_FRAME_SLACK = 2


@dataclass(frozen=True)
class Bad:
    """One bad command: its arguments after ``caprec``, and what its one error line must name.

    ``needles`` name the problem and the fix; ``env`` adds variables, ``config``
    is the config file's text, ``files`` are created in the working directory
    first (text; a name ending in ``/`` is a directory). ``needs`` is ``x11``
    (the Xvfb display), ``read-only`` (a read-only mount) or ``mode`` (a
    ``--mode`` flag). ``subprocess`` runs it as a real ``python -m caprec``.
    """

    args: tuple[str, ...]
    needles: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    config: str | None = None
    files: Mapping[str, str] = field(default_factory=dict)
    needs: str | None = None
    subprocess: bool = False


def rec(*extra: str, source: bool = True, duration: bool = True, output: bool = True) -> tuple[str, ...]:
    """``record --source test -d 2 -o out.mp4`` plus ``extra``, leaving out what ``extra`` sets itself."""
    args = ["record"]
    if source:
        args += ["--source", "test"]
    if duration:
        args += ["-d", "2"]
    if output:
        args += ["-o", "out.mp4"]
    return (*args, *extra)


def env_cases(variable: str, example_fix: str, values: Mapping[str, str], **kwargs: bool) -> list[object]:
    """One case per bad value of ``variable``: {label: expected problem text}."""
    cases: list[object] = []
    for value, problem in values.items():
        label = value or "empty"
        fix = example_fix if value else "unset it or give a value such as"
        cases.append(pytest.param(
            Bad(rec(**kwargs), (f"{variable}: ", problem, fix), env={variable: value}),
            id=f"{variable}-{label}"))
    return cases


PLAN = "plan.toml"
BAD_INPUT: list[object] = [
    # --- flags -----------------------------------------------------------------------------------
    pytest.param(Bad(rec("--fps", "0"), ("--fps: '0' is out of range", "from 1 to 240")), id="fps-zero"),
    pytest.param(Bad(rec("--fps=-5"), ("--fps: '-5' is out of range", "from 1 to 240")), id="fps-negative"),
    pytest.param(Bad(rec("--fps", "100000"), ("'100000' is out of range", "from 1 to 240")), id="fps-absurd"),
    pytest.param(Bad(rec("--fps", "thirty"), ("'thirty' is not a number", "such as 30"), subprocess=True),
                 id="fps-not-a-number"),
    pytest.param(Bad(rec("--fps", "nan"), ("'nan' is out of range", "from 1 to 240")), id="fps-nan"),
    pytest.param(Bad(rec("--region", "640x480+642+0", source=False),
                     ("640x480+642+0 lies outside the 1280x720 screen",), needs="x11"), id="region-outside-screen"),
    pytest.param(Bad(rec("--region", "1281x720+0+0", source=False), ("odd width",)), id="region-odd-size"),
    pytest.param(Bad(rec("--region=-640x480+0+0", source=False), ("is not a region", "use WxH+X+Y")),
                 id="region-negative-size"),
    pytest.param(Bad(rec("--region", "0x480+0+0", source=False), ("has an empty size", "above zero")),
                 id="region-zero-size"),
    pytest.param(Bad(rec("--region", "640x480", source=False), ("'640x480' is not a region", "use WxH+X+Y")),
                 id="region-malformed"),
    pytest.param(Bad(rec("--region", "640x480+0+0"), ("the test source has no screen", "drop --region")),
                 id="region-on-test-source"),
    pytest.param(Bad(rec("--duration=-5", duration=False), ("--duration: '-5' is not a duration", "1m30s")),
                 id="duration-negative"),
    pytest.param(Bad(rec("-d", "0", duration=False), ("'0' must be longer than zero", "e.g. 5")),
                 id="duration-zero"),
    pytest.param(Bad(rec("-d", "1m70", duration=False), ("'1m70' is not a duration", "00:01:30"), subprocess=True),
                 id="duration-malformed"),
    pytest.param(Bad(rec("-d", "9999h", duration=False), ("longer than 7 days", "shorter duration")),
                 id="duration-absurd"),
    pytest.param(Bad(rec("--source", "webcam", source=False), ("--source: 'webcam' is not a source", "screen, test")),
                 id="source-unknown"),
    pytest.param(Bad(rec("--mode", "film"), ("--mode: 'film' is not a mode", "instant or studio"), needs="mode"),
                 id="mode-unknown"),
    pytest.param(Bad(rec("--codec", "h265"), ("--codec: 'h265' is not supported", "libx264")), id="codec-unknown"),
    pytest.param(Bad(rec("--crf", "99"), ("--crf: 99 is out of range", "0 (best) to 51")), id="crf-out-of-range"),
    pytest.param(Bad(rec("--pipe-buffer", "10GiB"), ("'10GiB' is out of range", "4.0 KiB to 256.0 MiB")),
                 id="pipe-buffer-huge"),
    pytest.param(Bad(rec("--cursor-flush", "0"), ("--cursor-flush: '0' is out of range", "0.05 to 60")),
                 id="cursor-flush-zero"),
    pytest.param(Bad(rec("--delay", "-1"), ("--delay: '-1' is out of range", "0 to 3600")), id="delay-negative"),
    pytest.param(Bad(rec("--json", "-o", "-", output=False), ("--json", "--summary-file")), id="json-on-stdout"),
    # --- output paths ----------------------------------------------------------------------------
    pytest.param(Bad(rec("-o", "missing/out.mp4", output=False), ("missing does not exist", "create it first")),
                 id="output-in-missing-directory"),
    pytest.param(Bad(rec("-o", f"{READ_ONLY_DIR}/out.mp4", output=False), ("is not writable", "choose another -o"),
                     needs="read-only"), id="output-in-read-only-directory"),
    pytest.param(Bad(rec("-o", "videos", output=False), ("videos is a directory", "give a file name"),
                     files={"videos/": ""}), id="output-is-a-directory"),
    pytest.param(Bad(rec("-o", EXISTING, output=False), (f"{EXISTING} already exists", "--overwrite"),
                     subprocess=True), id="output-exists"),
    pytest.param(Bad(rec("--cursor", "-o", "take.mp4", output=False), ("take.cursor.ndjson already exists",
                                                                       "--overwrite"),
                     files={"take.cursor.ndjson": "{}\n"}), id="cursor-log-exists"),
    pytest.param(Bad(rec("-o", "", output=False), ("--output: is empty", "leave the option out")),
                 id="output-empty"),
    pytest.param(Bad(rec("--output-dir", "nowhere", output=False), ("nowhere is not a directory", "create it")),
                 id="output-dir-missing"),
    # --- variables: empty, not a number, zero, negative, huge ------------------------------------
    *env_cases("CAPREC_FPS", "frame rate", {"": "is empty", "abc": "'abc' is not a number", "0": "out of range",
                                            "-1": "out of range", "1e12": "out of range"}),
    *env_cases("CAPREC_DURATION", "1m30s", {"": "is empty", "abc": "'abc' is not a duration",
                                            "0": "must be longer than zero", "-1": "is not a duration",
                                            "1e12": "is not a duration"}, duration=False),
    *env_cases("CAPREC_PIPE_BUFFER", "MiB", {"": "is empty", "abc": "'abc' is not a size", "0": "out of range",
                                             "-1": "is not a size", "1e12": "is not a size"}),
    *env_cases("CAPREC_CURSOR_FLUSH", "0.", {"": "is empty", "abc": "is not a number of seconds",
                                             "0": "out of range", "-1": "out of range", "1e12": "out of range"}),
    *(env_cases("CAPREC_QUEUE_SIZE", "1 to 2048", {"": "is empty", "abc": "is not a whole number",
                                                   "0": "out of range", "-1": "out of range",
                                                   "1e12": "is not a whole number"}) if HAS_QUEUE_SIZE else []),
    pytest.param(Bad(rec(source=False), ("CAPREC_SOURCE: 'webcam' is not a source", "screen, test"),
                     env={"CAPREC_SOURCE": "webcam"}), id="CAPREC_SOURCE-unknown"),
    pytest.param(Bad(rec(), ("CAPREC_CODEC: 'h265' is not supported", "libx264"), env={"CAPREC_CODEC": "h265"}),
                 id="CAPREC_CODEC-unknown"),
    pytest.param(Bad(rec(), ("CAPREC_CURSOR: 'maybe' is not a yes/no value", "true or false"),
                     env={"CAPREC_CURSOR": "maybe"}), id="CAPREC_CURSOR-not-a-bool"),
    pytest.param(Bad(rec(), ("CAPREC_CRF: 'abc' is not a whole number", "0 (best)"), env={"CAPREC_CRF": "abc"}),
                 id="CAPREC_CRF-not-a-number"),
    pytest.param(Bad(rec(), ("CAPREC_DELAY: '1e12' is out of range", "0 to 3600"), env={"CAPREC_DELAY": "1e12"}),
                 id="CAPREC_DELAY-huge"),
    pytest.param(Bad(rec(), ("CAPREC_MODE: 'film' is not a mode", "instant or studio"), env={"CAPREC_MODE": "film"}),
                 id="CAPREC_MODE-unknown"),
    pytest.param(Bad(rec(output=False), ("CAPREC_OUTPUT_DIR: is empty", "unset it"), env={"CAPREC_OUTPUT_DIR": ""},
                     subprocess=True), id="CAPREC_OUTPUT_DIR-empty"),
    # --- the config file -------------------------------------------------------------------------
    pytest.param(Bad(rec(), ("not valid TOML", "caprec config init --force"), config="[record\nfps = 30\n"),
                 id="config-malformed"),
    pytest.param(Bad(rec(), ("unknown key 'fsp' in [record]", "known keys: source, fps"),
                     config="[record]\nfsp = 30\n"), id="config-unknown-key"),
    pytest.param(Bad(rec(), ("unknown key 'recrod'", "only the [record] table"), config="[recrod]\nfps = 30\n"),
                 id="config-unknown-table"),
    pytest.param(Bad(rec(), ("record.fps in", "must be a number or a string (e.g. fps = 30), not the boolean true"),
                     config="[record]\nfps = true\n"), id="config-wrong-type"),
    pytest.param(Bad(rec(), ("record.cursor in", "must be true or false", "not the string 'yes'"),
                     config='[record]\ncursor = "yes"\n'), id="config-wrong-type-bool"),
    pytest.param(Bad(rec(), ("record.fps in", "0 is out of range", "from 1 to 240"), config="[record]\nfps = 0\n"),
                 id="config-bad-value"),
    # --- batch plans -----------------------------------------------------------------------------
    pytest.param(Bad(("batch", PLAN), ("capture 1 (a.mp4): colour: unknown key", "use one of output"),
                     files={PLAN: '[[capture]]\noutput = "a.mp4"\nduration = 1\nsource = "test"\ncolour = "red"\n'}),
                 id="plan-unknown-key"),
    pytest.param(Bad(("batch", PLAN), ("capture 1 (a.mp4): duration: missing", "duration = 5"),
                     files={PLAN: '[[capture]]\noutput = "a.mp4"\nsource = "test"\n'}), id="plan-missing-duration"),
    pytest.param(Bad(("batch", PLAN), ("a.mp4 is also written by capture 1", "its own output"),
                     files={PLAN: '[[capture]]\noutput = "a.mp4"\nduration = 1\nsource = "test"\n'
                                  '[[capture]]\noutput = "a.mp4"\nduration = 1\nsource = "test"\n'}),
                 id="plan-duplicate-outputs"),
    pytest.param(Bad(("batch", PLAN), (f"{EXISTING} already exists", "choose another output"),
                     files={PLAN: f'[[capture]]\noutput = "{EXISTING}"\nduration = 1\nsource = "test"\n'}),
                 id="plan-existing-output"),
    pytest.param(Bad(("batch", PLAN), ("has no {n}", '"clip-{n}.mp4"'),
                     files={PLAN: '[[capture]]\noutput = "a.mp4"\nduration = 1\nrepeat = 2\nsource = "test"\n'}),
                 id="plan-repeat-without-n"),
    pytest.param(Bad(("batch", "nope.toml"), ("nope.toml: no such file", "path of a TOML plan")), id="plan-missing"),
    # Names (issue 10): the extension picks the container; a misspelt variable or key is not ignored.
    pytest.param(Bad(rec("-o", "talk.avi", output=False), ("--output: talk.avi", ".mp4, .mov, .mkv",
                                                             ".mp4 is appended")), id="output-unknown-extension"),
    pytest.param(Bad(rec(), ("CAPREC_FSP: no such caprec variable", "did you mean CAPREC_FPS?"),
                     env={"CAPREC_FSP": "60"}), id="env-misspelt"),
    pytest.param(Bad(rec(), ("CAPREC_QUEUE_SIZE_STUDO", "did you mean CAPREC_QUEUE_SIZE_STUDIO?"),
                     env={"CAPREC_QUEUE_SIZE_STUDO": "60"}), id="env-misspelt-per-mode"),
    pytest.param(Bad(rec(), ("CAPREC_BANANA: no such caprec variable", "unset it"),
                     env={"CAPREC_BANANA": "1"}), id="env-unknown"),
    pytest.param(Bad(("config", "show"), ("CAPREC_FSP: no such caprec variable", "did you mean CAPREC_FPS?"),
                     env={"CAPREC_FSP": "60"}), id="config-env-misspelt"),
    pytest.param(Bad(("config", "set", "fsp", "60"), ("unknown key 'fsp'", "did you mean 'fps'?")),
                 id="config-set-misspelt"),
    pytest.param(Bad(rec(), ("CAPREC_JSON", "is not a yes/no value"), env={"CAPREC_JSON": "maybe"}),
                 id="env-json-not-bool"),
    pytest.param(Bad(rec(), ("CAPREC_STATS_FILE", "is empty"), env={"CAPREC_STATS_FILE": ""}),
                 id="env-stats-file-empty"),
]


def snapshot(directory: Path) -> dict[str, bytes]:
    """Every path under ``directory`` with its bytes (``<dir>`` for directories)."""
    return {str(p.relative_to(directory)): p.read_bytes() if p.is_file() else b"<dir>"
            for p in sorted(directory.rglob("*"))}


def help_has(option: str, env: Mapping[str, str | None]) -> bool:
    return option in CliRunner().invoke(app, ["record", "--help"], env=dict(env)).stdout


@pytest.mark.parametrize("case", BAD_INPUT)
def test_bad_input(case: Bad, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest,
                   run_caprec: RunCaprec, caprec_env: dict[str, str]) -> None:
    work = tmp_path / "work"
    work.mkdir()
    config_home = tmp_path / CONFIG_DIR
    (config_home / "caprec").mkdir(parents=True)
    if case.config is not None:
        (config_home / "caprec" / "config.toml").write_text(case.config)
    (work / EXISTING).write_bytes(EXISTING_BYTES)
    for name, text in case.files.items():
        if name.endswith("/"):
            (work / name).mkdir()
        else:
            (work / name).write_text(text)
    env = cli_runner_unset()
    env.update(XDG_CONFIG_HOME=str(config_home), NO_COLOR="1")
    if case.needs == "x11":
        server: XServer = request.getfixturevalue("xvfb")
        env["DISPLAY"] = server.display
    if case.needs == "mode" and not help_has("--mode", env):
        pytest.skip("no --mode flag in `caprec record --help` yet")
    env.update(case.env)

    with contextlib.ExitStack() as stack:
        if case.needs == "read-only":
            stack.enter_context(read_only_directory(work / READ_ONLY_DIR))
        before = snapshot(tmp_path)
        if case.subprocess:
            real_env = {k: v for k, v in {**caprec_env, **env}.items() if v is not None}
            ran = run_caprec(list(case.args), cwd=work, env=real_env)
            code, stdout, stderr = ran.returncode, ran.stdout, ran.stderr
        else:
            monkeypatch.chdir(work)
            result = CliRunner().invoke(app, list(case.args), env=env)
            # Anything but SystemExit would be a traceback in a real shell.
            assert isinstance(result.exception, SystemExit | None), result.exception
            code, stdout, stderr = result.exit_code, result.stdout, result.stderr
        after = snapshot(tmp_path)

    assert code == ExitStatus.USAGE == 2, stderr
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1, f"expected exactly one error line:\n{stderr}"
    assert lines[-1] == errors[0], f"the error is not the last line:\n{stderr}"
    for needle in case.needles:
        assert needle in errors[0], f"{needle!r} not in {errors[0]!r}"
    assert stdout == ""
    assert after == before, "a bad command created, changed or removed a file"
    assert (work / EXISTING).read_bytes() == EXISTING_BYTES


def test_there_are_at_least_40_bad_inputs() -> None:
    assert len(BAD_INPUT) >= 40


# --- awkward but valid paths -------------------------------------------------------------------

AWKWARD = [
    (["-o", "with space, it's \"quoted\", ünïcødé 録画.mp4"], "with space, it's \"quoted\", ünïcødé 録画.mp4"),
    (["-o", "-leading-dash.mp4"], "-leading-dash.mp4"),
    (["--output=--double-dash.mp4"], "--double-dash.mp4"),
    (["-o", "semi;colon $(touch pwned) `touch pwned` a:b.mp4"], "semi;colon $(touch pwned) `touch pwned` a:b.mp4"),
    (["-o", "./dir with space/x.mp4"], "dir with space/x.mp4"),
]


@pytest.mark.parametrize(("args", "name"), AWKWARD, ids=["spaces-quotes-unicode", "leading-dash",
                                                         "double-dash", "shell-characters", "directory-with-space"])
def test_awkward_paths_just_work(args: list[str], name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 1 s test pattern recorded to the path (in-process: no interpreter start-up), then read back by ffprobe."""
    (tmp_path / "dir with space").mkdir()
    monkeypatch.chdir(tmp_path)
    env = cli_runner_unset()
    result = CliRunner().invoke(app, ["record", "--source", "test", "-d", "1", "--fps", str(AWKWARD_FPS), "-q",
                                      *args], env={**env, "XDG_CONFIG_HOME": str(tmp_path / CONFIG_DIR)})
    assert isinstance(result.exception, SystemExit | None), result.exception
    assert result.exit_code == 0, result.stderr
    media = ffprobe(tmp_path / name)
    assert media.codec == "h264" and abs(media.frames - AWKWARD_FPS) <= AWKWARD_FRAME_SLACK, media
    assert not (tmp_path / "pwned").exists()
    # Nothing else: no stray temporary file, nothing created by a shell.
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted({name.split("/")[0], "dir with space"})
