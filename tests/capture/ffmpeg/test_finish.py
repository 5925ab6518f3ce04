"""The end of a recording: the file is read once (the rewrite is the check), and it says what it holds."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from caprec.capture.ffmpeg.finish import ffmpeg_file_url, join_checked, opened_parts, remux_checked
from support.fake_ffmpeg import wrapped_ffmpeg
from support.media import FPS, ffprobe, fragmented_video

FFMPEG = shutil.which("ffmpeg")
pytestmark = pytest.mark.skipif(FFMPEG is None, reason="needs ffmpeg")


def _logging_ffmpeg(tmp_path: Path) -> tuple[Path, Path]:
    """An ffmpeg that appends each argv to a log, then runs the real one."""
    log = tmp_path / "runs.log"
    return wrapped_ffmpeg(tmp_path / "ffmpeg", f'printf "%s\\n" "$*" >> "{log}"'), log


def _reads_of(log: Path, name: str) -> list[str]:
    """The helper runs that read ``name`` back (remux, verification, join)."""
    return [line for line in log.read_text().splitlines() if f"-i file:{name}" in line or "-f concat" in line]


@pytest.mark.parametrize("extra", [[], ["--mode", "studio"]])
def test_a_recording_is_read_back_once(run_caprec: object, tmp_path: Path, extra: list[str]) -> None:
    wrapper, log = _logging_ffmpeg(tmp_path)
    out = tmp_path / ("talk.caprec" if extra else "talk.mp4")
    result = run_caprec(["record", "--source", "test", "-d", "1", "--ffmpeg", str(wrapper), "-o", str(out), *extra],
                        cwd=tmp_path)  # type: ignore[operator]
    assert result.returncode == 0, result.stderr
    video = out / "segments" / "1" / "display.mp4" if extra else out
    reads = _reads_of(log, str(video))
    assert len(reads) == 1, reads
    assert "+faststart" in reads[0]  # the rewrite is the read-back
    assert ffprobe(video).frames == 30
    assert "frames 30" in result.stderr


def test_the_checked_remux_reports_what_the_file_holds(tmp_path: Path) -> None:
    assert FFMPEG is not None
    source = tmp_path / "frag.mp4"
    os.system(f"{FFMPEG} -v error -f lavfi -i testsrc2=size=320x240:rate=25 -t 2 -c:v libx264 "
              f"-movflags +frag_keyframe+empty_moov -f mp4 {source}")
    media, why = remux_checked(source, ffmpeg_path=FFMPEG)
    assert why is None
    assert media is not None
    assert media.frames == 50 == ffprobe(source).frames
    assert media.codec == "h264"
    assert 1.8 < media.duration_s <= 2.05


def test_a_failed_remux_names_the_error_line(tmp_path: Path) -> None:
    assert FFMPEG is not None
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all" * 100)
    media, why = remux_checked(junk, ffmpeg_path=FFMPEG)
    assert media is None
    assert why is not None and "Invalid data" in why
    assert junk.read_bytes().startswith(b"not a video")


def test_windows_joins_the_parts_by_name(tmp_path: Path) -> None:
    """Windows has no /dev/fd and no pass_fds: the concat list names the parts, quoted (simulated: platform)."""
    assert FFMPEG is not None
    parts = [fragmented_video(tmp_path / "it's part 1.mp4", 1), fragmented_video(tmp_path / "tëil 2 (ü).mp4", 2)]
    with opened_parts(parts, platform="win32") as named:
        assert named.fds == []  # nothing for a child to inherit
        assert named.urls == [ffmpeg_file_url(part) for part in parts]
    joined = tmp_path / "joined.mp4"
    media, why = join_checked(parts, joined, ffmpeg_path=FFMPEG, platform="win32")
    assert why is None and media is not None and media.frames == 3 * FPS
    assert ffprobe(joined).frames == 3 * FPS
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["joined.mp4", *(part.name for part in parts)])
