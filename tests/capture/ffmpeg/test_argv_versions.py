"""FFmpeg's argv for every major version the code branches on, whatever ffmpeg is installed here.

The branches: FFmpeg 7+ takes ``-thread_queue_size`` on each output too (caprec.capture.ffmpeg.argv,
OUTPUT_QUEUE_MIN_MAJOR); ddagrab needs FFmpeg 6+ (caprec.commands.plan, DDAGRAB_MIN_MAJOR). A git build's
version (``N-113000-g...``) has no major: it gets the oldest argv and is not refused. Each test hands the
recorder an :class:`FFmpegBinary` with the version it names, so no test depends on the installed FFmpeg.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from caprec.capture.errors import SettingError
from caprec.capture.ffmpeg.argv import (
    OUTPUT_QUEUE_MIN_MAJOR,
    AudioBackend,
    AudioSource,
    Backend,
    Encoding,
    TrackFiles,
    VideoSource,
)
from caprec.capture.ffmpeg.binary import FFmpegBinary
from caprec.capture.record.segment import Recorder
from caprec.commands.plan import DDAGRAB_MIN_MAJOR, check_ddagrab

FFMPEG = "/opt/ffmpeg/bin/ffmpeg"
QUEUE = 64
SOURCE = VideoSource(Backend.LAVFI, fps=30.0, device="640x480", queue_size=QUEUE)
# One version string per major the code tells apart, in the spellings FFmpeg builds use.
VERSIONS = {None: "N-113000-gabcdef1234", 4: "4.4.2-0ubuntu0.22.04.1", 5: "5.1.6-0+deb12u1", 6: "6.1.1",
            7: "n7.0.2", 8: "8.0"}

VIDEO_INPUT = [FFMPEG, "-f", "lavfi", "-re", "-thread_queue_size", "64", "-i", "testsrc2=size=640x480:rate=30"]
VIDEO_OUTPUT = ["-f", "mp4", "-c:v", "libx264", "-crf", "23", "-g", "30",
                "-movflags", "+frag_keyframe+empty_moov+default_base_moof", "-pix_fmt", "yuv420p",
                "-preset", "veryfast", "-t", "2"]
VIDEO_OUTPUT_END = ["-tune", "zerolatency", "pipe:1"]
GLOBALS = ["-hide_banner", "-nostats", "-loglevel", "level+info", "-progress", "pipe:2", "-stats_period", "0.5"]
OUTPUT_QUEUE = ["-thread_queue_size", "64"]


def recorder(major: int | None) -> Recorder:
    binary = FFmpegBinary(FFMPEG, VERSIONS[major], "test")
    assert binary.major == major
    return Recorder(binary)


def test_the_versions_cover_both_sides_of_every_branch() -> None:
    majors = {major for major in VERSIONS if major is not None}
    for first in (OUTPUT_QUEUE_MIN_MAJOR, DDAGRAB_MIN_MAJOR):
        assert {first - 1, first} <= majors


@pytest.mark.parametrize("major", list(VERSIONS))
def test_record_argv_per_major(major: int | None) -> None:
    argv = recorder(major).argv(SOURCE, Encoding(duration=2.0), output_queue_size=QUEUE)
    queued_output = major is not None and major >= OUTPUT_QUEUE_MIN_MAJOR
    assert argv == [*VIDEO_INPUT, *VIDEO_OUTPUT, *(OUTPUT_QUEUE if queued_output else []), *VIDEO_OUTPUT_END,
                    *GLOBALS]


@pytest.mark.parametrize("major", list(VERSIONS))
def test_without_an_output_queue_size_no_version_queues_its_outputs(major: int | None) -> None:
    argv = recorder(major).argv(SOURCE, Encoding(duration=2.0))
    assert argv == [*VIDEO_INPUT, *VIDEO_OUTPUT, *VIDEO_OUTPUT_END, *GLOBALS]


@pytest.mark.parametrize("major", [7, 8])
def test_studio_audio_queues_each_of_the_two_outputs_from_ffmpeg_7(major: int) -> None:
    """With the audio in its own file, FFmpeg 7+ gets the option on both outputs; 6 on none (exactly that)."""
    audio = AudioSource(AudioBackend.TEST, queue_size=QUEUE)

    def argv(of: int) -> list[str]:
        return recorder(of).argv(SOURCE, Encoding(duration=2.0), audio=audio,
                                 tracks=TrackFiles(audio=(Path("/take/segments/1/audio.m4a"),)),
                                 output_queue_size=QUEUE)

    older, newer = argv(OUTPUT_QUEUE_MIN_MAJOR - 1), argv(major)
    pipe, audio_file = newer.index("pipe:1"), newer.index("file:/take/segments/1/audio.m4a")
    assert older.count("-thread_queue_size") == 2  # the two inputs
    # Each output's options are sorted by name: the queue option sits where "thread_queue_size" sorts.
    video_at = next(i for i in range(pipe) if newer[i:i + 2] == OUTPUT_QUEUE and i > newer.index("-t"))
    audio_at = next(i for i in range(pipe, audio_file) if newer[i:i + 2] == OUTPUT_QUEUE)
    assert newer[:video_at] + newer[video_at + 2:audio_at] + newer[audio_at + 2:] == older


@pytest.mark.parametrize(("major", "refused"), [(None, False), (5, True), (6, False), (7, False)])
def test_ddagrab_needs_ffmpeg_6(major: int | None, refused: bool) -> None:
    binary = FFmpegBinary(FFMPEG, VERSIONS[major], "test")
    if not refused:
        check_ddagrab(binary, platform="win32", culprit="--source", display="0", display_culprit="--display")
        return
    with pytest.raises(SettingError) as info:
        check_ddagrab(binary, platform="win32", culprit="--source", display="0", display_culprit="--display")
    assert str(info.value) == (f"--source: ddagrab needs FFmpeg 6.0 or later, but {FFMPEG} is {VERSIONS[major]}; "
                               "use --source screen (gdigrab) or a newer ffmpeg (--ffmpeg)")
