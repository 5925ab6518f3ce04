"""``caprec batch``: plan parsing and validation, dry runs, real captures, failures and Ctrl-C."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import textwrap
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from caprec.settings.batch_plan import CaptureSpec, PlanError, expand_output, load_plan, parse_plan
from support.fake_ffmpeg import wrapped_ffmpeg
from support.media import Probe
from support.polling import wait_until
from support.process import python_argv
from support.pty import spawn_in_pty

RunCaprec = Callable[..., "subprocess.CompletedProcess[str]"]
FPS = 10
DURATION_S = 1
FRAME_TOLERANCE = 2
PROCESS_TIMEOUT_S = 60.0
# An ffmpeg stand-in that fails every capture at this frame rate and runs the real one otherwise.
FAILING_FPS = 11
SUMMARY_SCHEMA = "caprec-summary/1"

needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")


@pytest.fixture
def env(caprec_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """caprec's environment without CAPREC_* variables or a personal config file."""
    clean = dict(caprec_env)  # scrubbed_environ: no CAPREC_* variable
    clean["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    return clean


def write_plan(directory: Path, text: str, name: str = "plan.toml") -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def listing(directory: Path) -> list[str]:
    return sorted(str(path.relative_to(directory)) for path in directory.rglob("*"))


# --- the plan, engine side ----------------------------------------------------------------------------------


def test_defaults_apply_and_captures_override(tmp_path: Path) -> None:
    plan = parse_plan({
        "defaults": {"source": "test", "fps": 15, "duration": "1m30s"},
        "capture": [{"output": "a.mp4"}, {"output": "b.mp4", "fps": 30, "duration": 2, "delay": "0s"}],
    }, base_dir=tmp_path)
    first, second = plan.captures
    assert (first.fps, first.duration, first.source, first.output) == (15.0, 90.0, "test", tmp_path / "a.mp4")
    assert (second.fps, second.duration, second.delay, second.mode) == (30.0, 2.0, 0.0, "instant")


def test_repeat_expands_the_output_template(tmp_path: Path) -> None:
    plan = parse_plan({"capture": [{"output": "take-{n:02d}.mp4", "duration": 1, "repeat": 3, "delay": 2}]},
                      base_dir=tmp_path)
    assert [spec.name for spec in plan.captures] == ["take-01.mp4", "take-02.mp4", "take-03.mp4"]
    assert [(spec.index, spec.n, spec.repeat, spec.delay) for spec in plan.captures] == [
        (1, 1, 3, 2.0), (1, 2, 3, 2.0), (1, 3, 3, 2.0)]
    assert all(isinstance(spec, CaptureSpec) for spec in plan.captures)
    assert expand_output("clip-{n}.mp4", 7) == "clip-7.mp4"
    with pytest.raises(ValueError, match=r"only \{n\}"):
        expand_output("clip-{name}.mp4", 1)


def test_relative_outputs_are_taken_from_the_plans_directory(tmp_path: Path) -> None:
    (tmp_path / "plans").mkdir()
    path = write_plan(tmp_path / "plans", """
        [[capture]]
        output = "out.mp4"
        duration = 1
    """)
    assert load_plan(path).captures[0].output == tmp_path / "plans" / "out.mp4"


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    with pytest.raises(PlanError) as caught:
        parse_plan({"capture": [{"output": "a.mp4"}, {"output": "b.mp4", "duration": 1, "fsp": 3},
                                {"output": "c.mp4", "duration": 1}]}, base_dir=tmp_path, origin="p.toml")
    lines = caught.value.lines()
    assert lines == [
        "p.toml: capture 1 (a.mp4): duration: missing; every capture needs a duration, e.g. duration = 5 or \"1m30s\"",
        "p.toml: capture 2 (b.mp4): fsp: unknown key; did you mean 'fps'?",
    ]
    # The captures without a problem come along, for the caller's own checks.
    assert [spec.name for spec in caught.value.captures] == ["c.mp4"]


# --- plan errors through the command: exit 2, one line each, nothing created --------------------------------

PLAN_ERRORS: list[tuple[str, str, list[str]]] = [
    ("unknown-key", """
        [[capture]]
        output = "a.mp4"
        duration = 1
        durration = 2
     """, ["capture 1 (a.mp4)", "durration", "unknown key", "did you mean 'duration'"]),
    ("unknown-top-level-key", """
        [capturez]
        x = 1
        [[capture]]
        output = "a.mp4"
        duration = 1
     """, ["capturez", "unknown top-level key"]),
    ("unknown-default", """
        [defaults]
        colour = "red"
        [[capture]]
        output = "a.mp4"
        duration = 1
     """, ["defaults", "colour", "unknown key"]),
    ("wrong-type-fps", """
        [[capture]]
        output = "a.mp4"
        duration = 1
        fps = true
     """, ["capture 1 (a.mp4)", "fps", "expected a number or a string", "the boolean true"]),
    ("bad-fps", """
        [[capture]]
        output = "a.mp4"
        duration = 1
        fps = "fast"
     """, ["capture 1 (a.mp4)", "fps", "'fast' is not a number; use a frame rate such as 30"]),
    ("delay-above-the-flag-limit", """
        [[capture]]
        output = "a.mp4"
        duration = 1
        delay = "2h"
     """, ["capture 1 (a.mp4)", "delay", "'2h' is out of range; use 0 to 3600 seconds"]),
    ("wrong-type-output", """
        [[capture]]
        output = 3
        duration = 1
     """, ["capture 1 (no output)", "output", "expected a string"]),
    ("wrong-type-repeat", """
        [[capture]]
        output = "a-{n}.mp4"
        duration = 1
        repeat = 2.5
     """, ["capture 1 (a-{n}.mp4)", "repeat", "whole number"]),
    ("missing-duration", """
        [[capture]]
        output = "a.mp4"
        [[capture]]
        output = "b.mp4"
        duration = 1
     """, ["capture 1 (a.mp4)", "duration", "missing"]),
    ("bad-duration", """
        [[capture]]
        output = "a.mp4"
        duration = "soon"
     """, ["capture 1 (a.mp4)", "duration", "'soon' is not a duration"]),
    ("negative-delay", """
        [[capture]]
        output = "a.mp4"
        duration = 1
        delay = -1
     """, ["capture 1 (a.mp4)", "delay", "out of range"]),
    ("missing-output", """
        [[capture]]
        duration = 1
     """, ["capture 1 (no output)", "output", "missing"]),
    ("stdout-output", """
        [[capture]]
        output = "-"
        duration = 1
     """, ["capture 1 (-)", "output", "no '-' for stdout"]),
    ("same-output", """
        [[capture]]
        output = "a.mp4"
        duration = 1
        [[capture]]
        output = "./a.mp4"
        duration = 2
     """, ["capture 2 (./a.mp4)", "output", "also written by capture 1 (a.mp4)"]),
    ("same-output-after-expansion", """
        [[capture]]
        output = "clip-{n}.mp4"
        duration = 1
        repeat = 2
        [[capture]]
        output = "clip-2.mp4"
        duration = 1
     """, ["capture 2 (clip-2.mp4)", "output", "also written by capture 1 (clip-2.mp4)"]),
    ("output-exists", """
        [[capture]]
        output = "exists.mp4"
        duration = 1
     """, ["capture 1 (exists.mp4)", "output", "already exists"]),
    ("repeat-without-n", """
        [[capture]]
        output = "a.mp4"
        duration = 1
        repeat = 2
     """, ["capture 1 (a.mp4)", "output", "has no {n}"]),
    ("unknown-placeholder", """
        [[capture]]
        output = "a-{i}.mp4"
        duration = 1
     """, ["capture 1 (a-{i}.mp4)", "output", "{i} is not a placeholder"]),
    ("repeat-out-of-range", """
        [[capture]]
        output = "a-{n}.mp4"
        duration = 1
        repeat = 0
     """, ["capture 1 (a-{n}.mp4)", "repeat", "out of range"]),
    ("studio-output-is-a-media-name", """
        [[capture]]
        output = "a.mp4"
        duration = 1
        mode = "studio"
     """, ["capture 1 (a.mp4)", "studio", "a.mp4"]),
    ("unknown-mode", """
        [[capture]]
        output = "a.mp4"
        duration = 1
        mode = "turbo"
     """, ["capture 1 (a.mp4)", "mode", "'turbo' is not a mode; use instant or studio"]),
    ("audio", """
        [[capture]]
        output = "a.mp4"
        duration = 1
        audio = true
     """, ["capture 1 (a.mp4)", "audio", 'expected a string (e.g. audio = "test"), or false, got the boolean true']),
    ("no-captures", """
        [defaults]
        fps = 30
     """, ["capture", "no captures"]),
    ("capture-not-an-array", """
        [capture]
        output = "a.mp4"
        duration = 1
     """, ["capture", "[[capture]] tables"]),
    ("invalid-toml", """
        [[capture]]
        output = "a.mp4
     """, ["plan.toml", "not valid TOML"]),
    # Values checked when each capture is resolved (the same checks as caprec record).
    ("fps-out-of-range", """
        [[capture]]
        output = "a.mp4"
        source = "test"
        duration = 1
        fps = 500
     """, ["capture 1 (a.mp4)", "fps", "out of range"]),
    ("bad-source", """
        [[capture]]
        output = "a.mp4"
        source = "webcam"
        duration = 1
     """, ["capture 1 (a.mp4)", "source", "'webcam' is not a source"]),
    ("region-on-test-source", """
        [[capture]]
        output = "a.mp4"
        source = "test"
        duration = 1
        region = "640x480+0+0"
     """, ["capture 1 (a.mp4)", "region", "no screen to crop"]),
    ("bad-crf", """
        [[capture]]
        output = "a.mp4"
        source = "test"
        duration = 1
        crf = 99
     """, ["capture 1 (a.mp4)", "crf", "out of range"]),
    ("missing-directory", """
        [[capture]]
        output = "no/such/dir/a.mp4"
        source = "test"
        duration = 1
     """, ["capture 1 (no/such/dir/a.mp4)", "output", "does not exist"]),
]


@pytest.mark.parametrize(("plan_text", "expected"), [(text, expected) for _, text, expected in PLAN_ERRORS],
                         ids=[name for name, _, _ in PLAN_ERRORS])
def test_plan_errors(run_caprec: RunCaprec, env: dict[str, str], tmp_path: Path, plan_text: str,
                     expected: list[str]) -> None:
    (tmp_path / "exists.mp4").write_bytes(b"keep")
    plan = write_plan(tmp_path, plan_text)
    before = listing(tmp_path)
    result = run_caprec(["batch", str(plan), "--json"], cwd=tmp_path, env=env)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines and all(line.startswith(f"error: {plan}") for line in lines), result.stderr
    culprit = next((line for line in lines if all(part in line for part in expected)), None)
    assert culprit is not None, f"no line names {expected}:\n{result.stderr}"
    assert listing(tmp_path) == before  # nothing created
    assert (tmp_path / "exists.mp4").read_bytes() == b"keep"


def test_several_errors_are_one_line_each_in_plan_order(run_caprec: RunCaprec, env: dict[str, str],
                                                        tmp_path: Path) -> None:
    plan = write_plan(tmp_path, """
        [[capture]]
        output = "a.mp4"
        source = "test"
        duration = 1
        fps = 999
        [[capture]]
        output = "b.mp4"
        [[capture]]
        output = "c.mp4"
        source = "satellite"
        duration = 1
    """)
    result = run_caprec(["batch", str(plan)], cwd=tmp_path, env=env)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 3
    assert [line.split(": ")[2] for line in lines] == ["capture 1 (a.mp4)", "capture 2 (b.mp4)", "capture 3 (c.mp4)"]


def test_missing_plan_file(run_caprec: RunCaprec, env: dict[str, str], tmp_path: Path) -> None:
    result = run_caprec(["batch", "nowhere.toml"], cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert result.stderr.splitlines() == ["error: nowhere.toml: no such file; give the path of a TOML plan"]


# --- dry run and real captures ------------------------------------------------------------------------------

TWO_CAPTURES = f"""
    [defaults]
    source = "test"
    fps = {FPS}

    [[capture]]
    output = "first.mp4"
    duration = {DURATION_S}

    [[capture]]
    output = "second.mp4"
    duration = "{DURATION_S}s"
"""


@needs_ffmpeg
def test_dry_run_prints_the_resolved_plan_and_records_nothing(run_caprec: RunCaprec, env: dict[str, str],
                                                              tmp_path: Path) -> None:
    plan = write_plan(tmp_path, """
        [defaults]
        source = "test"
        [[capture]]
        output = "take-{n}.mp4"
        duration = 2
        repeat = 2
        delay = 1
        fps = 12
    """)
    result = run_caprec(["batch", str(plan), "--dry-run"], cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 4
    assert lines[0].startswith("# 1/2 capture 1 (take-1.mp4): " + str(tmp_path / "take-1.mp4"))
    assert "after 1 s" in lines[0]
    assert lines[2].startswith("# 2/2 capture 1 (take-2.mp4): " + str(tmp_path / "take-2.mp4"))
    for argv in (lines[1], lines[3]):
        assert "ffmpeg" in argv and "rate=12" in argv and "-t 2" in argv
    assert listing(tmp_path) == ["plan.toml"]


@needs_ffmpeg
def test_two_real_captures(run_caprec: RunCaprec, env: dict[str, str], tmp_path: Path,
                           probe: Callable[[Path], Probe]) -> None:
    plan = write_plan(tmp_path, TWO_CAPTURES)
    result = run_caprec(["batch", str(plan), "--json"], cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    for name in ("first.mp4", "second.mp4"):
        frames = probe(tmp_path / name).frames
        assert abs(frames - FPS * DURATION_S) <= FRAME_TOLERANCE, (name, frames)
    summaries = json.loads(result.stdout)
    assert [summary["schema"] for summary in summaries] == [SUMMARY_SCHEMA] * 2
    assert [summary["status"] for summary in summaries] == ["complete", "complete"]
    assert [summary["outputs"]["video"] for summary in summaries] == [str(tmp_path / "first.mp4"),
                                                                       str(tmp_path / "second.mp4")]
    assert [summary["capture"]["index"] for summary in summaries] == [1, 2]
    # Not a terminal: plain progress lines and the results table, no escape codes.
    assert "capture 1/2" in result.stderr and "capture 2/2" in result.stderr
    assert "complete" in result.stderr and "\x1b[" not in result.stderr


def test_a_studio_capture_with_audio_in_a_plan(run_caprec: RunCaprec, env: dict[str, str], tmp_path: Path,
                                               probe: Callable[[Path], Probe]) -> None:
    plan = write_plan(tmp_path, f"""
        [[capture]]
        output = "take.caprec"
        source = "test"
        mode = "studio"
        audio = "test"
        fps = {FPS}
        duration = {DURATION_S}
    """)
    result = run_caprec(["batch", str(plan)], cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    manifest = tomllib.loads((tmp_path / "take.caprec" / "recording.toml").read_text())
    assert manifest["status"] == "complete" and manifest["audio"] == "test"
    (segment,) = manifest["segments"]
    assert abs(probe(tmp_path / "take.caprec" / segment["display"]).frames - FPS * DURATION_S) <= FRAME_TOLERANCE
    assert (tmp_path / "take.caprec" / segment["audio"]).stat().st_size > 0


def _failing_ffmpeg(tmp_path: Path) -> Path:
    (tmp_path / "bin").mkdir()
    return wrapped_ffmpeg(tmp_path / "bin" / "ffmpeg", f'case "$*" in\n'
                          f'    *rate={FAILING_FPS}*) echo "[error] simulated capture failure" >&2; exit 1 ;;\nesac')


FAILING_FIRST = f"""
    [defaults]
    source = "test"
    duration = {DURATION_S}
    fps = {FPS}

    [[capture]]
    output = "fails.mp4"
    fps = {FAILING_FPS}

    [[capture]]
    output = "runs.mp4"
"""


@needs_ffmpeg
@pytest.mark.parametrize("keep_going", [False, True], ids=["stop", "continue-on-error"])
def test_a_failed_capture(run_caprec: RunCaprec, env: dict[str, str], tmp_path: Path, keep_going: bool) -> None:
    ffmpeg = _failing_ffmpeg(tmp_path)
    plan = write_plan(tmp_path, FAILING_FIRST)
    args = ["batch", str(plan), "--json", "--ffmpeg", str(ffmpeg)] + (["--continue-on-error"] if keep_going else [])
    result = run_caprec(args, cwd=tmp_path, env=env)
    assert result.returncode == 1, result.stderr
    summaries: list[dict[str, Any]] = json.loads(result.stdout)
    assert summaries[0]["status"] == "error" and "simulated capture failure" in summaries[0]["error"]
    assert summaries[0]["exit_code"] == 1
    assert not (tmp_path / "fails.mp4").exists()
    if keep_going:
        assert summaries[1]["status"] == "complete" and (tmp_path / "runs.mp4").exists()
    else:
        assert summaries[1]["status"] == "skipped" and summaries[1]["exit_code"] is None
        assert not (tmp_path / "runs.mp4").exists()


@needs_ffmpeg
def test_ctrl_c_stops_the_current_capture_and_skips_the_rest(env: dict[str, str], tmp_path: Path) -> None:
    plan = write_plan(tmp_path, f"""
        [defaults]
        source = "test"
        fps = {FPS}
        [[capture]]
        output = "take-{{n}}.mp4"
        duration = 30
        repeat = 3
    """)
    proc = subprocess.Popen(python_argv("batch", str(plan), "--json"), cwd=tmp_path, env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        first = tmp_path / "take-1.mp4"
        wait_until(lambda: first.exists() and first.stat().st_size > 0, PROCESS_TIMEOUT_S,
                   message="the first capture to write")
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=PROCESS_TIMEOUT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, stderr
    summaries = json.loads(stdout)
    assert [summary["status"] for summary in summaries] == ["complete", "skipped", "skipped"]
    assert summaries[0]["stop_reason"] == "user" and summaries[0]["verified"]
    assert summaries[0]["frames"] < 30 * FPS
    assert sorted(os.listdir(tmp_path)) == ["plan.toml", "take-1.mp4"]


@needs_ffmpeg
def test_batch_progress_in_a_terminal(env: dict[str, str], tmp_path: Path) -> None:
    pexpect = pytest.importorskip("pexpect")
    plan = write_plan(tmp_path, TWO_CAPTURES)
    argv = python_argv("batch", str(plan))
    child = spawn_in_pty(argv, cwd=tmp_path, env={**env, "TERM": "xterm-256color"}, columns=60,
                         timeout=PROCESS_TIMEOUT_S)
    try:
        child.expect(r"capture 1/2")
        child.expect(r"frames")  # the current capture's live panel under the overall progress
        child.expect(r"capture 2/2")
        child.expect(pexpect.EOF)
        rest = child.before
    finally:
        child.close(force=True)
    assert child.exitstatus == 0, rest
    assert isinstance(rest, str) and "second.mp4" in rest and "complete" in rest
    assert (tmp_path / "first.mp4").exists() and (tmp_path / "second.mp4").exists()
