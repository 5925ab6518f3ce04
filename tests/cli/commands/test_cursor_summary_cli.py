"""``caprec cursor summary``: a log or a bundle, the recording's duration, a click counted once."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from support.cursor_logs import click, header, move, write_log
from support.run import RunCaprec

EVENTS = [move(0.0, 0, 0), click(100.0, "left", True), click(180.0, "left", False), move(400.0, 3, 4)]


def _one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: "), lines
    return lines[0]


@pytest.mark.parametrize("name", ["missing.ndjson", "missing.caprec", "plain-dir"])
def test_a_path_that_names_no_log_is_one_line(run_caprec: RunCaprec, tmp_path: Path, name: str) -> None:
    if name == "plain-dir":
        (tmp_path / name).mkdir()
    result = run_caprec(["cursor", "summary", name], cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    line = _one_error_line(result.stderr)
    assert name in line and "cursor log" in line, line
    assert "Traceback" not in result.stderr


def test_a_bundle_is_summarized_with_its_recordings_duration(run_caprec: RunCaprec, tmp_path: Path) -> None:
    bundle = tmp_path / "talk.caprec"
    bundle.mkdir()
    (bundle / "recording.toml").write_text('format = "caprec-studio"\nversion = 1\nstatus = "complete"\n'
                                           'cursor = "cursor.ndjson"\n[stats]\nduration = 2.5\n')
    write_log(bundle / "cursor.ndjson", header(), EVENTS)
    result = run_caprec(["cursor", "summary", "talk.caprec", "--json"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["duration_ms"] == 2500.0
    assert data["last_event_ms"] == 400.0
    assert (data["clicks"], data["presses"], data["releases"]) == (1, 1, 1)
    table = run_caprec(["cursor", "summary", "talk.caprec"], cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    assert "00:00:02.5" in table.stdout or "2.5" in table.stdout, table.stdout


@pytest.mark.skipif(shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None, reason="needs ffmpeg")
def test_a_log_beside_its_video_reports_the_videos_duration(run_caprec: RunCaprec, tmp_path: Path) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10", "-t", "2",
                    str(tmp_path / "talk.mp4")], check=True, timeout=60)
    write_log(tmp_path / "talk.cursor.ndjson", header(), EVENTS)
    result = run_caprec(["cursor", "summary", "talk.cursor.ndjson", "--json"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["duration_ms"] == pytest.approx(2000.0, abs=1.0)
    assert data["recording_duration_known"] is True
    assert data["clicks"] == 1


def test_a_lone_log_says_it_only_knows_the_last_event(run_caprec: RunCaprec, tmp_path: Path) -> None:
    write_log(tmp_path / "c.ndjson", header(), EVENTS)
    result = run_caprec(["cursor", "summary", "c.ndjson"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "last event at" in result.stdout
