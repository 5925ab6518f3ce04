"""Issue 9, items 12-14: closed streams, absurd names, patterns and configs, a huge batch plan.

Each case gets one ``error:`` line (or a clean JSON summary), the right exit
code, no traceback and no hang. The real binary runs as users run it; the
closed streams are closed in the child before caprec starts.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from caprec.commands.batch import resolve_captures
from caprec.env import Environment
from caprec.settings.batch_plan import load_plan
from support.fake_ffmpeg import wrapped_ffmpeg
from support.media import ffprobe
from support.process import python_argv
from support.run import RunCaprec

FINISH_TIMEOUT_S = 60.0
HANG_TIMEOUT_S = 20.0  # a case that used to hang must answer well within this


def run_with(caprec_env: dict[str, str], args: Sequence[str], *, cwd: Path, close: int | None = None,
             stdout: int = subprocess.PIPE,
             extra_env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """caprec with descriptor ``close`` closed before it starts (as ``>&-`` or ``2>&-`` leave it)."""
    preexec: Callable[[], None] | None = None
    if close is not None:
        fd = close

        def preexec() -> None:
            os.close(fd)

    return subprocess.Popen(python_argv(*args), cwd=cwd, env={**caprec_env, **(extra_env or {})},
                            stdin=subprocess.DEVNULL, stdout=stdout if close != 1 else None,
                            stderr=subprocess.PIPE if close != 2 else None, preexec_fn=preexec)


def one_error_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), text
    assert "Traceback" not in text and "RecursionError" not in text
    return lines[0]


RECORD = ["record", "--source", "test", "--duration", "1"]


# -- 12. closed stdout, closed stderr, a reader that goes away ---------------------------------


def test_closed_stdout_saves_and_says_the_summary_went_nowhere(caprec_env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "x.mp4"
    proc = run_with(caprec_env, [*RECORD, "-o", str(out), "--json", "--quiet"], cwd=tmp_path, close=1)
    _, err = proc.communicate(timeout=FINISH_TIMEOUT_S)
    text = err.decode()
    assert proc.returncode == 0, text
    assert "Traceback" not in text
    assert text.strip().splitlines() == [line for line in text.strip().splitlines() if "JSON summary" in line]
    assert len(text.strip().splitlines()) == 1, text
    assert ffprobe(out).frames > 0


def test_closed_stderr_keeps_the_json_clean(caprec_env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "x.mp4"
    proc = run_with(caprec_env, [*RECORD, "-o", str(out), "--json"], cwd=tmp_path, close=2)
    data, _ = proc.communicate(timeout=FINISH_TIMEOUT_S)
    assert proc.returncode == 0
    summary = json.loads(data)  # nothing but the JSON: no human text ahead of it
    assert summary["status"] == "complete" and summary["exit_code"] == 0


def test_a_reader_that_goes_away_is_one_line_and_the_recordings_code(caprec_env: dict[str, str],
                                                                       tmp_path: Path) -> None:
    out = tmp_path / "x.mp4"
    proc = run_with(caprec_env, [*RECORD, "-o", str(out), "--json", "--quiet"], cwd=tmp_path)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # `| true`: the reader is gone before the summary comes
    err = proc.stderr.read().decode()
    assert proc.wait(FINISH_TIMEOUT_S) == 0, err
    assert len(err.strip().splitlines()) == 1 and "JSON summary" in err, err
    assert "Traceback" not in err and "Exception ignored" not in err
    assert ffprobe(out).frames > 0


# -- 13. long names, absurd patterns, hostile config files -------------------------------------


def test_a_255_byte_name_records(run_caprec: RunCaprec, tmp_path: Path) -> None:
    out = tmp_path / ("n" * 251 + ".mp4")
    done = run_caprec([*RECORD, "-o", str(out), "--quiet"], cwd=tmp_path, timeout=FINISH_TIMEOUT_S)
    assert done.returncode == 0, done.stderr
    assert ffprobe(out).frames > 0
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # no temporary copy left


def test_a_300_byte_name_is_one_line(run_caprec: RunCaprec, tmp_path: Path) -> None:
    done = run_caprec([*RECORD, "-o", str(tmp_path / ("n" * 296 + ".mp4"))], cwd=tmp_path, timeout=HANG_TIMEOUT_S)
    assert done.returncode == 2
    assert "300 bytes" in one_error_line(done.stderr)


def test_a_cursor_log_name_too_long_is_refused_up_front(run_caprec: RunCaprec, tmp_path: Path) -> None:
    out = tmp_path / ("n" * 251 + ".mp4")  # fits, but NAME.cursor.ndjson would not
    done = run_caprec([*RECORD, "--cursor", "-o", str(out)], cwd=tmp_path, timeout=HANG_TIMEOUT_S)
    assert done.returncode == 2
    assert "--no-cursor" in one_error_line(done.stderr)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("output", ["x{n:0>300}.mp4", "x{n:,>99999999}.mp4", "x" * 300 + ".mp4"])
def test_absurd_batch_outputs_are_one_line(run_caprec: RunCaprec, tmp_path: Path, output: str) -> None:
    plan = tmp_path / "plan.toml"
    plan.write_text(f'[[capture]]\nsource = "test"\nduration = "1"\noutput = "{output}"\n', encoding="utf-8")
    done = run_caprec(["batch", str(plan), "--dry-run"], cwd=tmp_path, timeout=HANG_TIMEOUT_S)
    assert done.returncode == 2
    assert "output" in one_error_line(done.stderr)


def test_a_config_nested_100k_deep_is_one_line(run_caprec: RunCaprec, caprec_env: dict[str, str],
                                               tmp_path: Path) -> None:
    config = tmp_path / "deep.toml"
    config.write_text("[record]\nfps = " + "[" * 100_000 + "\n", encoding="utf-8")
    done = run_caprec([*RECORD, "--dry-run"], cwd=tmp_path, env={**caprec_env, "CAPREC_CONFIG": str(config)},
                      timeout=HANG_TIMEOUT_S)
    assert done.returncode == 2
    assert str(config) in one_error_line(done.stderr)


@pytest.mark.parametrize("command", ["record", "batch"])
def test_a_fifo_is_refused_not_waited_on(run_caprec: RunCaprec, caprec_env: dict[str, str], tmp_path: Path,
                                         command: str) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    if command == "record":
        done = run_caprec([*RECORD, "--dry-run"], cwd=tmp_path, env={**caprec_env, "CAPREC_CONFIG": str(fifo)},
                          timeout=HANG_TIMEOUT_S)
    else:
        done = run_caprec(["batch", str(fifo), "--dry-run"], cwd=tmp_path, timeout=HANG_TIMEOUT_S)
    assert done.returncode == 2
    assert "not a regular file" in one_error_line(done.stderr)


# -- 14. a big batch plan probes ffmpeg once ---------------------------------------------------


def counting_ffmpeg(tmp_path: Path) -> tuple[Path, Path]:
    """The real ffmpeg behind a script that counts its runs (a log line each)."""
    log = tmp_path / "runs.log"
    return wrapped_ffmpeg(tmp_path / "ffmpeg-counting", f"echo run >> '{log}'"), log


@pytest.mark.parametrize("captures", [1, 200])
def test_a_batch_plan_probes_ffmpeg_once(tmp_path: Path, captures: int) -> None:
    script, log = counting_ffmpeg(tmp_path)
    plan_path = tmp_path / "plan.toml"
    plan_path.write_text('[defaults]\nsource = "test"\nduration = "1"\n\n' + "".join(
        f'[[capture]]\noutput = "clip-{i}.mp4"\n\n' for i in range(captures)), encoding="utf-8")
    env = Environment(environ={"PATH": os.environ["PATH"], "XDG_CONFIG_HOME": str(tmp_path)})
    resolved, problems, _ = resolve_captures(env, load_plan(plan_path), ffmpeg_path=str(script), quiet=True)
    assert problems == [] and len(resolved) == captures
    assert {item.plan.target.path for item in resolved} == {tmp_path / f"clip-{i}.mp4" for i in range(captures)}
    runs = len(log.read_text().splitlines())
    assert runs <= 2, f"ffmpeg ran {runs} times to validate {captures} captures"
