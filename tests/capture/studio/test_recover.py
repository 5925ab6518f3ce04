"""``caprec recover``: what a killed recording left becomes a finished file.

Real files only: a real ``caprec record`` killed with SIGKILL, fragmented
MP4s written by the real ffmpeg (as caprec's recorder writes them), and a
studio bundle built by hand in the manifest format the session writes.
"""

from __future__ import annotations

import json
import os
import signal
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
import tomli_w
from caprec.capture.cursor.reader import read_cursor_log
from caprec.capture.files.mp4boxes import read_layout
from caprec.capture.studio.recover import find_parts
from caprec.exit import ExitStatus
from support.media import FPS, Probe, ffprobe, fragmented_audio, fragmented_video, no_frames_video, tear
from support.mp4 import complete_fragments, mp4_top_level_boxes
from support.polling import wait_until
from support.run import RunCaprec, SpawnCaprec

START_TIMEOUT_S = 20.0
# A stream copy may lose the one packet a torn fragment cut in half.
TORN_FRAME_SLACK = 1
CURSOR_HEADER = {"format": "caprec-cursor", "version": "1.0", "caprec_version": "0.1.0", "source": "x11grab",
                 "region": {"x": 0, "y": 0, "width": 320, "height": 240}, "screen": {"width": 320, "height": 240},
                 "unit": "pixels", "scale": None, "fps": 30.0, "first_frame_wall": 1.7e9,
                 "first_frame_utc": "2023-11-14T22:13:20.000Z", "flush_interval": 1.0}

Probe_ = Callable[[Path], Probe]


def assert_regular_mp4(path: Path) -> None:
    boxes = mp4_top_level_boxes(path)
    assert boxes[0] == "ftyp", boxes
    assert "moov" in boxes and "mdat" in boxes, boxes
    assert boxes.index("moov") < boxes.index("mdat"), f"moov after mdat: {boxes}"
    assert "moof" not in boxes, f"still fragmented: {boxes}"


def write_cursor_log(path: Path, events: int, *, torn: bool) -> None:
    lines = [json.dumps(CURSOR_HEADER)]
    lines += [json.dumps({"t": 10.0 * i, "type": "move", "x": i % 320, "y": 5, "nx": 0.1, "ny": 0.1})
              for i in range(events)]
    text = "\n".join(lines) + "\n"
    if torn:
        text += '{"t":99999.0,"type":"mo'
    path.write_text(text)


def recover_json(run_caprec: RunCaprec, path: Path, cwd: Path) -> tuple[int, dict[str, object], str]:
    result = run_caprec(["recover", str(path), "--json"], cwd=cwd)
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, json.loads(result.stdout), result.stderr


def leftovers(directory: Path) -> list[str]:
    """Temporary siblings (``.NAME.recover-PID...``, concat lists) a recovery must not leave behind."""
    return sorted(p.name for p in directory.rglob(".*"))


# --- instant recordings ----------------------------------------------------------------------

@pytest.mark.slow
def test_kill_9_then_recover_gives_a_regular_mp4(spawn_caprec: SpawnCaprec, run_caprec: RunCaprec,
                                                 tmp_path: Path) -> None:
    out = tmp_path / "killed.mp4"
    caprec = spawn_caprec(["record", "--source", "test", "-o", str(out), "--fps", str(FPS)], cwd=tmp_path)
    wait_until(lambda: complete_fragments(out) >= 2, START_TIMEOUT_S, message="two whole fragments on disk")
    caprec.send_signal(signal.SIGKILL)
    assert caprec.wait(START_TIMEOUT_S) == -signal.SIGKILL
    assert "moof" in mp4_top_level_boxes(out) or read_layout(out).torn
    before = ffprobe(out).frames
    assert before >= 2 * FPS

    code, report, err = recover_json(run_caprec, out, tmp_path)
    assert code == ExitStatus.OK, err
    assert report["status"] == "recovered" and report["kind"] == "instant"
    assert_regular_mp4(out)
    after = ffprobe(out)
    assert before - TORN_FRAME_SLACK <= after.frames <= before, (before, after)
    assert report["frames"] == after.frames
    assert leftovers(tmp_path) == []

    human = run_caprec(["recover", str(out)], cwd=tmp_path)
    assert human.returncode == 0, human.stderr
    assert human.stdout.startswith(f"nothing to recover: {out}"), human.stdout
    assert ffprobe(out).frames == after.frames


def test_parts_are_joined_in_order_and_deleted(run_caprec: RunCaprec, tmp_path: Path) -> None:
    # A quote, spaces and unicode in the name: the concat list must escape them.
    out = fragmented_video(tmp_path / "it's a täke.mp4", 2)
    part2 = fragmented_video(tmp_path / "it's a täke.part-2.mp4", 1)
    part3 = fragmented_video(tmp_path / "it's a täke.part-3.mp4", 3)
    tear(part3)  # killed while recording the last segment
    assert find_parts(out) == [part2, part3]
    expected = sum(ffprobe(p).frames for p in (out, part2, part3))
    cursor = tmp_path / "it's a täke.cursor.ndjson"
    write_cursor_log(cursor, 25, torn=True)
    out.chmod(0o640)

    code, report, err = recover_json(run_caprec, out, tmp_path)
    assert code == 0, err
    assert_regular_mp4(out)
    assert out.stat().st_mode & 0o777 == 0o640  # the rewritten file keeps its permissions
    assert not part2.exists() and not part3.exists()
    media = ffprobe(out)
    assert expected - TORN_FRAME_SLACK <= media.frames <= expected, (expected, media)
    assert media.duration is not None and abs(media.duration - expected / FPS) < 0.1
    files = report["files"]
    assert isinstance(files, list)
    assert [f["action"] for f in files] == ["remuxed", "joined", "joined"]
    assert [f["index"] for f in files] == [1, 2, 3]
    assert report["cursor"] == {"path": str(cursor), "events": 25, "torn_line_removed": True,
                                "warnings": ["an incomplete last line was removed"]}
    log = read_cursor_log(cursor)
    assert len(log.events) == 25 and log.warnings == []
    assert leftovers(tmp_path) == []


def test_a_torn_middle_part_is_cut_at_its_last_whole_fragment(run_caprec: RunCaprec, tmp_path: Path) -> None:
    """FFmpeg's concat demuxer stops at a packet cut in half mid-list and still exits 0: never trust it blindly."""
    out = fragmented_video(tmp_path / "take.mp4", 1)
    part2 = fragmented_video(tmp_path / "take.part-2.mp4", 2)
    part3 = fragmented_video(tmp_path / "take.part-3.mp4", 1)
    tear(part2)  # its second fragment is lost: 1 s remains
    result = run_caprec(["recover", "take.mp4"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "take.part-2.mp4 ended in a torn fragment" in result.stdout
    assert ffprobe(out).frames == 3 * FPS
    assert not part2.exists() and not part3.exists()


def test_a_part_without_frames_is_left_on_disk(run_caprec: RunCaprec, tmp_path: Path) -> None:
    out = fragmented_video(tmp_path / "take.mp4", 1)
    empty = no_frames_video(tmp_path / "take.part-2.mp4")
    empty_bytes = empty.read_bytes()
    code, report, err = recover_json(run_caprec, out, tmp_path)
    assert code == 0, err
    assert ffprobe(out).frames == FPS
    assert empty.read_bytes() == empty_bytes
    files = report["files"]
    assert isinstance(files, list)
    assert [(f["index"], f["action"]) for f in files] == [(1, "remuxed"), (2, "dropped")]


@pytest.mark.parametrize("make", ["missing", "directory", "text", "no-frames", "garbage-mp4"])
def test_what_cannot_be_recovered(run_caprec: RunCaprec, tmp_path: Path, make: str) -> None:
    target = tmp_path / "x.mp4"
    expected = ExitStatus.USAGE
    needle = ""
    if make == "missing":
        needle = "does not exist"
    elif make == "directory":
        target = tmp_path / "videos"
        target.mkdir()
        needle = "not a caprec studio bundle"
    elif make == "text":
        target.write_text("hello\n")
        needle = "is not an MP4 file"
    elif make == "no-frames":
        no_frames_video(target)
        expected, needle = ExitStatus.ERROR, "no playable video frame"
    else:
        target.write_bytes(fragmented_video(tmp_path / "src.mp4", 1).read_bytes()[:64] + os.urandom(4096))
        (tmp_path / "src.mp4").unlink()
        expected, needle = ExitStatus.ERROR, "no playable video frame"
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    result = run_caprec(["recover", str(target)], cwd=tmp_path)
    assert result.returncode == expected, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], result.stderr
    assert result.stdout == ""
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == before


def test_a_file_still_being_recorded_is_refused(run_caprec: RunCaprec, tmp_path: Path) -> None:
    out = fragmented_video(tmp_path / "live.mp4", 1)
    before = out.read_bytes()
    with out.open("ab"):  # this test process plays the recorder that still writes it
        result = run_caprec(["recover", str(out)], cwd=tmp_path)
    assert result.returncode == ExitStatus.USAGE, result.stderr
    assert f"process {os.getpid()} still has the recording open" in result.stderr
    assert out.read_bytes() == before


# --- studio bundles --------------------------------------------------------------------------

def make_bundle(root: Path) -> Path:
    """A bundle as a killed studio session leaves it: segment 2 still recording, segment 3 never got a frame."""
    bundle = root / "talk.caprec"
    for index in (1, 2, 3):
        (bundle / "segments" / str(index)).mkdir(parents=True)
    fragmented_video(bundle / "segments/1/display.mp4", 2)
    fragmented_audio(bundle / "segments/1/audio.m4a", 2)
    fragmented_video(bundle / "segments/2/display.mp4", 3)
    tear(bundle / "segments/2/display.mp4")
    no_frames_video(bundle / "segments/3/display.mp4")
    write_cursor_log(bundle / "cursor.ndjson", 40, torn=True)
    manifest = {
        "format": "caprec-studio", "version": 1, "caprec_version": "0.1.0", "status": "recording",
        "created": "2026-11-28T07:00:00Z", "source": "x11grab", "fps": 30.0, "codec": "libx264",
        "region": "320x240+0+0", "audio": "test", "cursor": "cursor.ndjson",
        "segments": [
            {"index": 1, "display": "segments/1/display.mp4", "audio": "segments/1/audio.m4a", "start": 0.0,
             "duration": 2.0, "status": "complete"},
            {"index": 2, "display": "segments/2/display.mp4", "start": 2.0, "duration": 0.0, "status": "recording"},
            {"index": 3, "display": "segments/3/display.mp4", "start": 2.0, "duration": 0.0, "status": "recording"},
        ],
        "stats": {"frames": 60},
    }
    (bundle / "recording.toml").write_text(tomli_w.dumps(manifest))
    return bundle


def read_toml(path: Path) -> dict[str, object]:
    with path.open("rb") as handle:
        return tomllib.load(handle)


def test_studio_bundle_is_finished_and_marked_complete(run_caprec: RunCaprec, tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path)
    seg2_frames = ffprobe(bundle / "segments/2/display.mp4").frames
    code, report, err = recover_json(run_caprec, bundle, tmp_path)
    assert code == 0, err
    assert report["status"] == "recovered" and report["kind"] == "studio"

    manifest = read_toml(bundle / "recording.toml")
    assert manifest["status"] == "complete"
    assert manifest["recovered_from"] == "recording"
    assert isinstance(manifest["recovered"], str) and manifest["recovered"].endswith("Z")
    assert "finished" in manifest
    segments = manifest["segments"]
    assert isinstance(segments, list)
    assert [s["index"] for s in segments] == [1, 2]  # segment 3 had no frame: dropped from the manifest
    assert all(s["status"] == "complete" for s in segments)
    assert segments[0]["start"] == 0.0 and abs(segments[0]["duration"] - 2.0) < 0.05
    assert segments[1]["start"] == segments[0]["duration"]
    assert abs(segments[1]["duration"] - seg2_frames / FPS) < 0.1
    assert segments[0]["audio"] == "segments/1/audio.m4a"
    stats = manifest["stats"]
    assert isinstance(stats, dict)
    assert stats["frames"] == 2 * FPS + segments[1]["frames"] == report["frames"]
    assert stats["cursor_events"] == 40

    for name in ("segments/1/display.mp4", "segments/1/audio.m4a", "segments/2/display.mp4"):
        assert_regular_mp4(bundle / name)
    assert (bundle / "segments/3/display.mp4").exists()  # kept, though not in the manifest
    assert seg2_frames - TORN_FRAME_SLACK <= ffprobe(bundle / "segments/2/display.mp4").frames <= seg2_frames
    assert read_cursor_log(bundle / "cursor.ndjson").warnings == []
    notes = report["notes"]
    assert isinstance(notes, list) and any("segment 3" in n and "dropped" in n for n in notes)
    assert leftovers(bundle) == []


def test_recover_is_idempotent(run_caprec: RunCaprec, tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path)
    first = run_caprec(["recover", str(bundle)], cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith(f"recovered {bundle}"), first.stdout
    assert "manifest marked complete" in first.stdout and "cursor log cursor.ndjson: 40 events" in first.stdout
    files = {p: p.read_bytes() for p in sorted(bundle.rglob("*")) if p.is_file()}

    second = run_caprec(["recover", str(bundle / "recording.toml")], cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert second.stdout.startswith(f"nothing to recover: {bundle}"), second.stdout
    assert {p: p.read_bytes() for p in sorted(bundle.rglob("*")) if p.is_file()} == files


def test_recover_removes_a_killed_runs_leftovers_inside_a_bundle(run_caprec: RunCaprec, tmp_path: Path) -> None:
    """Issue 9 item 11: hidden copies a killed rewrite, join or manifest write left in a bundle go, and are named."""
    bundle = make_bundle(tmp_path)
    dead = [bundle / "segments/1/.display.mp4.remux-k1lled00.mp4", bundle / "segments/2/.display.mp4.join-k1lled00.mp4",
            bundle / "segments/1/.audio.m4a.recover-k1lled00.m4a", bundle / ".recording.toml.tmp-k1lled00.tmp"]
    for path in dead:
        path.write_bytes(b"\0" * 1000)
    unrelated = bundle / "segments/1/.display.mp4.notes"  # hidden, but not a name caprec makes
    unrelated.write_bytes(b"")
    code, report, err = recover_json(run_caprec, bundle, tmp_path)
    assert code == 0, err
    assert [path for path in dead if path.exists()] == []
    assert unrelated.exists()
    notes = report["notes"]
    assert isinstance(notes, list)
    for path in dead:
        assert any(path.name in note and "removed" in note for note in notes), (path.name, notes)


def test_bundle_without_a_playable_segment(run_caprec: RunCaprec, tmp_path: Path) -> None:
    bundle = tmp_path / "empty.caprec"
    (bundle / "segments/1").mkdir(parents=True)
    no_frames_video(bundle / "segments/1/display.mp4")
    manifest = {"format": "caprec-studio", "version": 1, "status": "recording", "created": "2026-11-28T07:00:00Z",
                "segments": [{"index": 1, "display": "segments/1/display.mp4", "start": 0.0, "status": "recording"}]}
    (bundle / "recording.toml").write_text(tomli_w.dumps(manifest))
    before = (bundle / "recording.toml").read_bytes()
    result = run_caprec(["recover", str(bundle)], cwd=tmp_path)
    assert result.returncode == ExitStatus.ERROR, result.stderr
    assert result.stderr.startswith("error: no segment of") and result.stderr.count("\n") == 1
    assert (bundle / "recording.toml").read_bytes() == before


def test_manifest_paths_cannot_leave_the_bundle(run_caprec: RunCaprec, tmp_path: Path) -> None:
    outside = fragmented_video(tmp_path / "outside.mp4", 1)
    before = outside.read_bytes()
    bundle = tmp_path / "evil.caprec"
    bundle.mkdir()
    manifest = {"format": "caprec-studio", "version": 1, "status": "recording", "created": "2026-11-28T07:00:00Z",
                "segments": [{"index": 1, "display": "../outside.mp4", "start": 0.0, "status": "recording"}]}
    (bundle / "recording.toml").write_text(tomli_w.dumps(manifest))
    result = run_caprec(["recover", str(bundle)], cwd=tmp_path)
    assert result.returncode == ExitStatus.USAGE, result.stderr
    assert "lies outside the bundle" in result.stderr
    assert outside.read_bytes() == before
