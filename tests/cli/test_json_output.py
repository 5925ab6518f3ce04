"""Machine-readable output: ``--json``, ``--summary-file`` and ``--stats-file`` (schemas and behaviour)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from caprec.capture.errors import OutputError
from caprec.capture.ffmpeg.progress import FFmpegProgress
from caprec.capture.record.segment import RecordingStats
from caprec.ui.reports import STATS_SCHEMA, SUMMARY_SCHEMA, StatsFileWriter, write_json_atomic
from support.media import Probe, ffprobe_bytes
from support.polling import wait_until
from support.process import python_argv

RunCaprec = Callable[..., "subprocess.CompletedProcess[str]"]
FPS = 10
DURATION_S = 2
FRAME_TOLERANCE = 2
POLL_TIMEOUT_S = 60.0
POLL_INTERVAL_S = 0.05

NUMBER = (int, float)
OPTIONAL_NUMBER = (int, float, type(None))
OPTIONAL_STR = (str, type(None))
OPTIONAL_DICT = (dict, type(None))
# The documented fields of each schema and their JSON types (docs/json.md).
SUMMARY_FIELDS: dict[str, tuple[type, ...]] = {
    "schema": (str,), "status": (str,), "exit_code": (int, type(None)), "error": OPTIONAL_STR,
    "stop_reason": OPTIONAL_STR, "outputs": (dict,), "duration_s": NUMBER, "frames": (int,),
    "target_fps": OPTIONAL_NUMBER, "dropped_frames": (int,), "duplicated_frames": (int,), "size_bytes": (int,),
    "bitrate_kbps": OPTIONAL_NUMBER, "cursor": OPTIONAL_DICT, "verified": (bool,), "remuxed": (bool,),
    "warnings": (int,), "notes": (list,),
}
STATS_FIELDS: dict[str, tuple[type, ...]] = {
    "schema": (str,), "status": (str,), "final": (bool,), "updated_at": NUMBER, "pid": (int,),
    "output": OPTIONAL_STR, "elapsed_s": NUMBER, "duration_s": OPTIONAL_NUMBER, "frames": (int,),
    "fps": OPTIONAL_NUMBER, "target_fps": OPTIONAL_NUMBER, "dropped_frames": (int,), "duplicated_frames": (int,),
    "bitrate_kbps": OPTIONAL_NUMBER, "speed": OPTIONAL_NUMBER, "size_bytes": (int,), "pipe_size": (int, type(None)),
    "pipe_high_water": (int,), "warnings": (int,), "last_warning": OPTIONAL_STR, "cursor": OPTIONAL_DICT,
    "paused": (bool, type(None)), "exit_code": (int, type(None)), "error": OPTIONAL_STR,
}
SUMMARY_STATUSES = {"complete", "interrupted", "failed", "error", "cancelled", "skipped"}
STATS_STATUSES = {"starting", "recording", "paused", "complete", "interrupted", "failed", "error"}

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")


def check_schema(document: dict[str, Any], fields: dict[str, tuple[type, ...]], schema: str) -> None:
    assert set(document) >= set(fields), f"missing: {set(fields) - set(document)}"
    for name, types in fields.items():
        value = document[name]
        assert isinstance(value, types) and not (isinstance(value, bool) and bool not in types), \
            f"{name}={value!r} is not {types}"
    assert document["schema"] == schema


def check_summary(summary: dict[str, Any]) -> None:
    check_schema(summary, SUMMARY_FIELDS, SUMMARY_SCHEMA)
    assert summary["status"] in SUMMARY_STATUSES
    assert set(summary["outputs"]) == {"video", "cursor_log"}


@pytest.fixture
def env(caprec_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """caprec's environment without CAPREC_* variables or a personal config file."""
    clean = dict(caprec_env)  # scrubbed_environ: no CAPREC_* variable
    clean["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    return clean


def record_args(output: str, *extra: str, duration: int = DURATION_S) -> list[str]:
    return ["record", "--source", "test", "--fps", str(FPS), "-d", str(duration), "-o", output, *extra]


# --- --json ---------------------------------------------------------------------------------------------


def test_json_summary_of_a_recording(run_caprec: RunCaprec, env: dict[str, str], tmp_path: Path,
                                     probe: Callable[[Path], Probe]) -> None:
    video = tmp_path / "summary.mp4"
    result = run_caprec(record_args(str(video), "--json"), cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)  # exactly one JSON document on stdout
    check_summary(summary)
    assert summary["status"] == "complete" and summary["exit_code"] == 0 and summary["error"] is None
    assert summary["stop_reason"] == "duration"
    assert summary["outputs"] == {"video": str(video), "cursor_log": None}
    assert abs(summary["frames"] - FPS * DURATION_S) <= FRAME_TOLERANCE
    assert summary["frames"] == probe(video).frames
    assert abs(summary["duration_s"] - DURATION_S) < 0.5
    assert summary["size_bytes"] == video.stat().st_size
    assert summary["bitrate_kbps"] > 0 and summary["verified"] and summary["remuxed"]
    assert summary["dropped_frames"] == 0 and summary["cursor"] is None


def test_json_summary_of_an_error_before_recording(run_caprec: RunCaprec, env: dict[str, str],
                                                   tmp_path: Path) -> None:
    video = tmp_path / "exists.mp4"
    video.write_bytes(b"keep me")
    result = run_caprec(record_args(str(video), "--json"), cwd=tmp_path, env=env)
    assert result.returncode == 2
    summary = json.loads(result.stdout)
    check_summary(summary)
    assert summary["status"] == "error" and summary["exit_code"] == 2
    assert "already exists" in summary["error"]
    assert summary["outputs"]["video"] is None
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ")
    assert video.read_bytes() == b"keep me"


def test_json_with_video_on_stdout_needs_a_summary_file(run_caprec: RunCaprec, env: dict[str, str],
                                                        tmp_path: Path) -> None:
    result = run_caprec(record_args("-", "--json"), cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --json:") and "--summary-file" in lines[0]
    assert list(tmp_path.iterdir()) == []


def test_summary_file_with_video_on_stdout(env: dict[str, str], tmp_path: Path) -> None:
    summary_path = tmp_path / "summary.json"
    result = subprocess.run(python_argv(*record_args("-", "--json", "--summary-file", str(summary_path))),
                            cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                            timeout=POLL_TIMEOUT_S, check=False)
    assert result.returncode == 0, result.stderr
    probe = ffprobe_bytes(result.stdout)  # stdout is the video, and only the video
    assert abs(probe.frames - FPS * DURATION_S) <= FRAME_TOLERANCE
    summary = json.loads(summary_path.read_text())
    check_summary(summary)
    assert summary["status"] == "complete" and summary["outputs"]["video"] == "-"
    assert summary["size_bytes"] == len(result.stdout)


@pytest.mark.parametrize(("flags", "culprit"), [
    (["--stats-file", "{tmp}/no/such/dir/stats.json"], "--stats-file"),
    (["--summary-file", "{tmp}"], "--summary-file"),
    (["--stats-file", "{tmp}/same.json", "--summary-file", "{tmp}/same.json"], "--summary-file"),
    (["--stats-file", "{tmp}/video.mp4"], "--stats-file"),
])
def test_bad_report_paths_are_usage_errors(run_caprec: RunCaprec, env: dict[str, str], tmp_path: Path,
                                           flags: list[str], culprit: str) -> None:
    args = [flag.replace("{tmp}", str(tmp_path)) for flag in flags]
    result = run_caprec(record_args(str(tmp_path / "video.mp4"), *args), cwd=tmp_path, env=env)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {culprit}:"), result.stderr
    assert list(tmp_path.iterdir()) == []


# --- --stats-file ---------------------------------------------------------------------------------------


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    assert isinstance(data, dict)
    return data


@pytest.mark.parametrize("quiet", [[], ["--quiet"]], ids=["shown", "quiet"])
def test_stats_file_changes_during_the_recording_and_ends_final(env: dict[str, str], tmp_path: Path,
                                                                quiet: list[str]) -> None:
    # --quiet shows no stats; the stats file still reads them live.
    stats_path = tmp_path / "live.json"
    video = tmp_path / "watched.mp4"
    proc = subprocess.Popen(python_argv(*record_args(str(video), "--stats-file", str(stats_path), *quiet,
                                                     duration=3)),
                            cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        seen: list[dict[str, Any]] = []

        def watch() -> bool:
            # A reader never sees half a file: every read parses (os.replace is atomic).
            document = _read_json(stats_path)
            if document is not None and (not seen or document != seen[-1]):
                seen.append(document)
            return proc.poll() is not None

        wait_until(watch, POLL_TIMEOUT_S, message="caprec to finish", interval=POLL_INTERVAL_S)
        _, stderr = proc.communicate()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, stderr
    for document in seen:
        check_schema(document, STATS_FIELDS, STATS_SCHEMA)
        assert document["status"] in STATS_STATUSES
        assert document["output"] == str(video)
    recording = [document for document in seen if document["status"] == "recording"]
    assert len({document["frames"] for document in recording}) >= 2, "the stats did not change while recording"
    assert [document["final"] for document in seen].count(True) == 1 and seen[-1]["final"]
    final = _read_json(stats_path)
    assert final is not None and final["final"] and final["status"] == "complete" and final["exit_code"] == 0
    assert final["frames"] == 3 * FPS and final["size_bytes"] == video.stat().st_size
    assert sorted(path.name for path in tmp_path.iterdir()) == ["live.json", "watched.mp4"]  # no temp files


def test_stats_file_ends_with_the_error_when_nothing_was_recorded(run_caprec: RunCaprec, env: dict[str, str],
                                                                  tmp_path: Path) -> None:
    # ffmpeg starts, then fails before its first frame: an audio device that does not exist
    # (a bad preset would be refused before ffmpeg starts).
    stats_path = tmp_path / "stats.json"
    result = run_caprec(record_args(str(tmp_path / "v.mp4"), "--audio", "alsa:caprec-no-such-device",
                                    "--stats-file", str(stats_path)),
                        cwd=tmp_path, env=env)
    assert result.returncode == 1, result.stderr
    final = _read_json(stats_path)
    assert final is not None
    check_schema(final, STATS_FIELDS, STATS_SCHEMA)
    assert final["final"] and final["status"] == "error" and final["exit_code"] == 1 and final["error"]


# --- the writer itself ------------------------------------------------------------------------------------


def _stats(elapsed: float) -> RecordingStats:
    return RecordingStats(elapsed_s=elapsed, target_fps=30.0, duration_s=None,
                          progress=FFmpegProgress(frame=int(elapsed * 30)), bytes=1000, pipe_size=None,
                          pipe_high_water=0, chunk_size=4096, warnings=0, last_warning=None, started=True)


def test_stats_writer_is_throttled_to_twice_a_second(tmp_path: Path) -> None:
    now = [0.0]
    writer = StatsFileWriter(tmp_path / "s.json", video="v.mp4", clock=lambda: now[0])
    with writer:
        for step in range(40):  # 10 s of stats at the recorder's 4 a second
            now[0] = step * 0.25
            writer.update(_stats(now[0]))
    assert writer.writes == 1 + 20  # "starting", then one per 0.5 s
    assert json.loads((tmp_path / "s.json").read_text())["frames"] == int(9.5 * 30)  # the last write, at 9.5 s


def test_stats_writer_reports_a_write_error_once_and_goes_on(tmp_path: Path) -> None:
    errors: list[str] = []
    now = [0.0]
    writer = StatsFileWriter(tmp_path / "gone" / "s.json", video=None, on_error=errors.append,
                             clock=lambda: now[0])
    with writer:
        for step in range(10):
            now[0] = step * 1.0
            writer.update(_stats(now[0]))
        writer.fail(OutputError("boom"))
    assert len(errors) == 1 and "stats file" in errors[0]
    assert writer.writes == 0
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_leaves_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "doc.json"
    write_json_atomic(target, {"a": 1})
    write_json_atomic(target, {"a": 2}, durable=True)
    assert json.loads(target.read_text()) == {"a": 2}
    assert os.listdir(tmp_path) == ["doc.json"]


def test_updated_at_is_wall_clock_time(tmp_path: Path) -> None:
    writer = StatsFileWriter(tmp_path / "s.json", video=None)
    before = time.time()
    with writer:
        pass
    document = json.loads((tmp_path / "s.json").read_text())
    assert before - 1 <= document["updated_at"] <= time.time() + 1
    assert document["status"] == "starting" and not document["final"]
