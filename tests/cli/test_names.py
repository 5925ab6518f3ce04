"""Names and help pages (issue 10): the extension picks the container, scripting variables, readable help."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from caprec.app import app
from caprec.capture.ffmpeg.argv import build_concat_argv, build_remux_argv
from caprec.settings import schema as opt
from caprec.settings.variables import SCRIPT_VARIABLES, known_variables
from support.media import ffprobe
from support.mp4 import complete_fragments
from support.polling import wait_until
from typer.testing import CliRunner

RunCaprec = Callable[..., "subprocess.CompletedProcess[str]"]
SpawnCaprec = Callable[..., "subprocess.Popen[bytes]"]
START_TIMEOUT_S = 30.0
FRAGMENTS_BEFORE_KILL = 2
needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")
# Every command's help page, as a user reaches it.
COMMANDS = [[], ["record"], ["batch"], ["devices"], ["doctor"], ["recover"], ["config"], ["config", "path"],
            ["config", "show"], ["config", "init"], ["config", "set"], ["config", "unset"], ["cursor"],
            ["cursor", "summary"]]
TYPE_PLACEHOLDER = re.compile(r"<(bool|str|path|int|float|text)>|\{[A-Za-z.]+\}")
HELP_WIDTH = 80
# At 80 columns the description column of `record --help` must leave room to read (it was 26).
MIN_DESCRIPTION_WIDTH = 40


def format_name(path: Path) -> tuple[str, str]:
    """FFmpeg's demuxer names and the major brand (qt for QuickTime) of ``path``."""
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=format_name:format_tags=major_brand",
                          "-of", "json", str(path)], capture_output=True, text=True, check=True).stdout
    fmt = json.loads(out)["format"]
    return fmt["format_name"], fmt.get("tags", {}).get("major_brand", "").strip()


@needs_ffmpeg
@pytest.mark.parametrize(("name", "saved", "demuxer", "brand"), [
    ("clip.mkv", "clip.mkv", "matroska,webm", ""),
    ("clip.mov", "clip.mov", "mov,mp4,m4a,3gp,3g2,mj2", "qt"),
    ("clip.MP4", "clip.MP4", "mov,mp4,m4a,3gp,3g2,mj2", "isom"),
    ("clip", "clip.mp4", "mov,mp4,m4a,3gp,3g2,mj2", "isom"),
])
def test_the_extension_picks_the_container(run_caprec: RunCaprec, tmp_path: Path, name: str, saved: str,
                                           demuxer: str, brand: str) -> None:
    result = run_caprec(["record", "--source", "test", "-d", "1", "-o", name], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"saved: {saved}" in result.stderr  # the appended .mp4 is said
    assert sorted(p.name for p in tmp_path.iterdir()) == [saved]
    assert format_name(tmp_path / saved) == (demuxer, brand)
    assert ffprobe(tmp_path / saved).frames >= 25


@needs_ffmpeg
def test_a_killed_mkv_recording_is_recovered_as_matroska(spawn_caprec: SpawnCaprec, run_caprec: RunCaprec,
                                                         tmp_path: Path) -> None:
    video = tmp_path / "killed.mkv"
    proc = spawn_caprec(["record", "--source", "test", "-q", "-o", str(video)], cwd=tmp_path)
    wait_until(lambda: video.exists() and complete_fragments(video) >= FRAGMENTS_BEFORE_KILL, START_TIMEOUT_S,
               message="fragments in the growing file")
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=START_TIMEOUT_S)
    assert format_name(video)[0].startswith("mov,mp4")  # what a killed recording leaves: fragmented MP4
    first = run_caprec(["recover", str(video)], cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert format_name(video)[0] == "matroska,webm"
    frames = ffprobe(video).frames
    assert frames >= FRAGMENTS_BEFORE_KILL * 25
    again = run_caprec(["recover", str(video)], cwd=tmp_path)  # finished now: nothing to do, and it says so
    assert again.returncode == 0, again.stderr
    assert "nothing to recover" in again.stdout and "already a finished MKV file" in again.stdout
    assert ffprobe(video).frames == frames


def test_remux_and_join_use_the_container_muxer() -> None:
    mkv = build_remux_argv(ffmpeg_path="ffmpeg", source="a", destination="b", container="matroska")
    assert mkv[mkv.index("-f") + 1] == "matroska" and "-movflags" not in mkv
    mov = build_concat_argv(ffmpeg_path="ffmpeg", listing="l", destination="b", container="mov")
    assert mov[mov.index("-f", mov.index("l")) + 1] == "mov" and "+faststart" in mov


@needs_ffmpeg
def test_scripting_options_have_variables(run_caprec: RunCaprec, caprec_env: dict[str, str],
                                          tmp_path: Path) -> None:
    env = {**caprec_env, "CAPREC_JSON": "1", "CAPREC_SUMMARY_FILE": str(tmp_path / "sum.json"),
           "CAPREC_STATS_FILE": str(tmp_path / "stats.json")}
    result = run_caprec(["record", "--source", "test", "-d", "1", "-q", "-o", "v.mp4"], cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["schema"] == "caprec-summary/1"
    assert json.loads((tmp_path / "sum.json").read_text())["status"] == "complete"
    assert json.loads((tmp_path / "stats.json").read_text())["schema"] == "caprec-stats/1"


def test_every_variable_is_known() -> None:
    known = known_variables()
    for setting in opt.configurable_settings():
        assert set(setting.env) <= known
    assert {"CAPREC_QUEUE_SIZE_STUDIO", "CAPREC_PIPE_BUFFER_INSTANT", "CAPREC_CONFIG"} <= known
    assert {variable.name for variable in SCRIPT_VARIABLES} == {"CAPREC_JSON", "CAPREC_SUMMARY_FILE",
                                                                 "CAPREC_STATS_FILE"}


def help_page(args: list[str], width: int = HELP_WIDTH) -> str:
    result = CliRunner().invoke(app, [*args, "--help"], env={"COLUMNS": str(width), "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.parametrize("args", COMMANDS, ids=lambda args: " ".join(args) or "caprec")
def test_help_has_one_placeholder_style_and_examples(args: list[str]) -> None:
    text = help_page(args)
    assert TYPE_PLACEHOLDER.search(text) is None, TYPE_PLACEHOLDER.search(text)
    assert "Example" in text
    for line in text.splitlines():
        assert len(line) <= HELP_WIDTH, line


def test_record_help_is_grouped_readable_and_names_the_keys() -> None:
    text = help_page(["record"])
    panels = re.findall(r"╭─ (\w+) ─", text)
    assert panels == ["Output", "Capture", "Encoding", "Audio", "Camera", "Cursor", "Scripting", "Replay"]
    # The description column: where the --output row's help starts.
    row = next(line for line in text.splitlines() if "--output " in line)
    assert HELP_WIDTH - row.index("Output file") >= MIN_DESCRIPTION_WIDTH, row
    flat = " ".join(text.split())
    assert "space or p pauses and resumes" in flat and "Ctrl-C twice stops now" in flat
    assert "--overwrite  " in text  # a flag: no placeholder after it
    assert "$CAPREC_JSON" in flat and "No variable for --output, --overwrite, --dry-run, --quiet, --verbose" in flat


def test_batch_help_shows_the_table_name_literally() -> None:
    assert "[[capture]]" in help_page(["batch"])
