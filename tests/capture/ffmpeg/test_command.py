"""FFmpeg argv builders: the exact command for every backend and codec.

macOS and Windows backends cannot run here, so their argv is pinned exactly;
the Linux ones run for real in tests/e2e/test_record_e2e.py.
"""

from __future__ import annotations

import pytest
from caprec.capture.errors import SettingError
from caprec.capture.ffmpeg.argv import (
    FRAGMENTED_MP4_FLAGS,
    Backend,
    Encoding,
    VideoSource,
    build_record_argv,
    build_remux_argv,
    build_verify_argv,
    encoder_options,
)
from caprec.capture.units import Region

FF = "/opt/ffmpeg/bin/ffmpeg"
REGION = Region(640, 480, 100, 50)
# Every recording ends with the same output options and globals (libx264 defaults, 30 fps).
X264_30 = ["-f", "mp4", "-c:v", "libx264", "-crf", "23", "-g", "30", "-movflags", FRAGMENTED_MP4_FLAGS,
           "-pix_fmt", "yuv420p", "-preset", "veryfast", "-tune", "zerolatency"]
GLOBALS = ["-hide_banner", "-nostats", "-loglevel", "level+info", "-progress", "pipe:2", "-stats_period", "0.5"]
EVEN_CROP = ["-filter_complex", "[0]crop=trunc(iw/2)*2:trunc(ih/2)*2[s0]", "-map", "[s0]"]


def argv_for(source: VideoSource, encoding: Encoding | None = None) -> list[str]:
    argv = build_record_argv(source, encoding or Encoding(), ffmpeg_path=FF)
    assert isinstance(argv, list) and all(isinstance(arg, str) for arg in argv)
    return argv


@pytest.mark.parametrize(("source", "expected"), [
    pytest.param(
        VideoSource(Backend.X11GRAB, device=":1.0"),
        [FF, "-f", "x11grab", "-draw_mouse", "1", "-fpsprobesize", "0", "-framerate", "30", "-i", ":1.0", *EVEN_CROP,
         *X264_30, "pipe:1", *GLOBALS],
        id="x11grab-whole-screen"),
    pytest.param(
        VideoSource(Backend.X11GRAB, device=":1.0", region=REGION),
        [FF, "-f", "x11grab", "-video_size", "640x480", "-draw_mouse", "1", "-fpsprobesize", "0", "-framerate", "30",
         "-i", ":1.0+100,50", *X264_30, "pipe:1", *GLOBALS],
        id="x11grab-region"),
    pytest.param(
        VideoSource(Backend.X11GRAB, device=":0.0", draw_mouse=False, queue_size=512),
        [FF, "-f", "x11grab", "-draw_mouse", "0", "-fpsprobesize", "0", "-framerate", "30",
         "-thread_queue_size", "512",
         "-i", ":0.0", *EVEN_CROP, *X264_30, "pipe:1", *GLOBALS],
        id="x11grab-no-mouse-queue"),
    pytest.param(
        VideoSource(Backend.AVFOUNDATION),
        [FF, "-f", "avfoundation", "-capture_cursor", "1", "-capture_mouse_clicks", "0", "-framerate", "30",
         "-pixel_format", "uyvy422", "-i", "Capture screen 0:none", *EVEN_CROP, *X264_30, "pipe:1", *GLOBALS],
        id="avfoundation-whole-screen"),
    pytest.param(
        VideoSource(Backend.AVFOUNDATION, device="Capture screen 1"),
        [FF, "-f", "avfoundation", "-capture_cursor", "1", "-capture_mouse_clicks", "0", "-framerate", "30",
         "-pixel_format", "uyvy422", "-i", "Capture screen 1:none", *EVEN_CROP, *X264_30, "pipe:1", *GLOBALS],
        id="avfoundation-second-screen-by-name"),
    pytest.param(
        VideoSource(Backend.AVFOUNDATION, device="2", region=REGION, draw_mouse=False),
        [FF, "-f", "avfoundation", "-capture_cursor", "0", "-capture_mouse_clicks", "0", "-framerate", "30",
         "-pixel_format", "uyvy422", "-i", "2:none", "-filter_complex", "[0]crop=640:480:100:50[s0]",
         "-map", "[s0]", *X264_30, "pipe:1", *GLOBALS],
        id="avfoundation-region"),
    pytest.param(
        VideoSource(Backend.GDIGRAB),
        [FF, "-f", "gdigrab", "-draw_mouse", "1", "-framerate", "30", "-i", "desktop", *EVEN_CROP,
         *X264_30, "pipe:1", *GLOBALS],
        id="gdigrab-desktop"),
    pytest.param(
        VideoSource(Backend.GDIGRAB, region=Region(1280, 720, -1920, 0)),
        [FF, "-f", "gdigrab", "-video_size", "1280x720", "-draw_mouse", "1", "-framerate", "30",
         "-offset_x", "-1920", "-offset_y", "0", "-i", "desktop", *X264_30, "pipe:1", *GLOBALS],
        id="gdigrab-region-left-monitor"),
    pytest.param(
        VideoSource(Backend.DDAGRAB),
        [FF, "-f", "lavfi", "-i", "ddagrab=output_idx=0:framerate=30:draw_mouse=1",
         "-filter_complex", "[0]hwdownload[s0];[s0]format=bgra[s1]", "-map", "[s1]",
         *X264_30, "pipe:1", *GLOBALS],
        id="ddagrab"),
    pytest.param(
        VideoSource(Backend.DDAGRAB, device="1", region=REGION),
        [FF, "-f", "lavfi", "-i",
         "ddagrab=output_idx=1:framerate=30:draw_mouse=1:video_size=640x480:offset_x=100:offset_y=50",
         "-filter_complex", "[0]hwdownload[s0];[s0]format=bgra[s1]", "-map", "[s1]",
         *X264_30, "pipe:1", *GLOBALS],
        id="ddagrab-region"),
])
def test_record_argv_per_backend(source: VideoSource, expected: list[str]) -> None:
    assert argv_for(source) == expected


def test_lavfi_argv_is_paced_and_timed() -> None:
    argv = argv_for(VideoSource(Backend.LAVFI, fps=25, device="320x240"), Encoding(duration=3))
    assert argv == [
        FF, "-f", "lavfi", "-re", "-i", "testsrc2=size=320x240:rate=25",
        "-f", "mp4", "-c:v", "libx264", "-crf", "23", "-g", "25", "-movflags", FRAGMENTED_MP4_FLAGS,
        "-pix_fmt", "yuv420p", "-preset", "veryfast", "-t", "3", "-tune", "zerolatency", "pipe:1", *GLOBALS,
    ]


def test_lavfi_default_size_and_unpaced() -> None:
    argv = argv_for(VideoSource(Backend.LAVFI, realtime=False), Encoding(duration=1.5))
    assert argv[:5] == [FF, "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30"]
    assert "-re" not in argv
    assert argv[argv.index("-t") + 1] == "1.5"


@pytest.mark.parametrize("backend", list(Backend))
def test_every_recording_reports_progress_on_stderr_and_writes_fragmented_mp4(backend: Backend) -> None:
    argv = argv_for(VideoSource(backend), Encoding(duration=2))
    assert argv[argv.index("-progress"):argv.index("-progress") + 2] == ["-progress", "pipe:2"]
    assert argv[argv.index("-movflags") + 1] == "+frag_keyframe+empty_moov+default_base_moof"
    assert argv[argv.index("-f", argv.index("-i")) + 1] == "mp4"
    assert argv[argv.index("-t") + 1] == "2"
    assert "pipe:1" in argv
    assert "-nostdin" not in argv  # q on stdin is how a recording is stopped cleanly


@pytest.mark.parametrize(("fps", "gop"), [(30.0, 30), (60.0, 60), (29.97, 30), (0.5, 1), (12.0, 12)])
def test_keyframe_every_second(fps: float, gop: int) -> None:
    assert encoder_options(Encoding(), fps=fps)["g"] == gop


def test_libx264_defaults() -> None:
    assert encoder_options(Encoding(), fps=30) == {
        "c:v": "libx264", "pix_fmt": "yuv420p", "g": 30, "preset": "veryfast", "tune": "zerolatency", "crf": 23,
    }


def test_libx264_preset_and_crf_override() -> None:
    assert encoder_options(Encoding(preset="ultrafast", crf=18), fps=60) == {
        "c:v": "libx264", "pix_fmt": "yuv420p", "g": 60, "preset": "ultrafast", "tune": "zerolatency", "crf": 18,
    }


@pytest.mark.parametrize(("codec", "expected"), [
    ("h264_nvenc", {"cq": 20}),
    ("h264_qsv", {"global_quality": 20}),
    ("h264_amf", {"rc": "cqp", "qp_i": 20, "qp_p": 20}),
])
def test_hardware_constant_quality_knobs(codec: str, expected: dict[str, object]) -> None:
    assert encoder_options(Encoding(codec=codec, crf=20, preset="p4"), fps=30) == {
        "c:v": codec, "pix_fmt": "yuv420p", "g": 30, "preset": "p4", **expected,
    }


@pytest.mark.parametrize("codec", ["h264_nvenc", "h264_qsv", "h264_amf"])
def test_hardware_defaults_leave_quality_to_the_encoder(codec: str) -> None:
    assert encoder_options(Encoding(codec=codec), fps=30) == {"c:v": codec, "pix_fmt": "yuv420p", "g": 30}


def test_videotoolbox_realtime_in_argv() -> None:
    argv = argv_for(VideoSource(Backend.AVFOUNDATION), Encoding(codec="h264_videotoolbox"))
    assert argv[argv.index("-map") + 2:] == [
        "-f", "mp4", "-c:v", "h264_videotoolbox", "-g", "30", "-movflags", FRAGMENTED_MP4_FLAGS,
        "-pix_fmt", "yuv420p", "-realtime", "1", "pipe:1", *GLOBALS,
    ]


def test_videotoolbox_rejects_crf() -> None:
    with pytest.raises(SettingError, match=r"^`crf`: h264_videotoolbox has no constant-quality scale"):
        encoder_options(Encoding(codec="h264_videotoolbox", crf=23), fps=30)


def test_unknown_codec_is_rejected() -> None:
    with pytest.raises(SettingError, match=r"^`codec`: 'libx265' is not supported; use one of h264_amf, "):
        build_record_argv(VideoSource(Backend.LAVFI), Encoding(codec="libx265"), ffmpeg_path=FF)


def test_remux_argv() -> None:
    assert build_remux_argv(ffmpeg_path=FF, source="file:/rec/a b.mp4", destination="file:/rec/.a b.mp4.remux-7.mp4") \
        == [FF, "-i", "file:/rec/a b.mp4", "-f", "mp4", "-c", "copy", "-map", "0", "-movflags", "+faststart",
            "file:/rec/.a b.mp4.remux-7.mp4", "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]


def test_verify_argv() -> None:
    assert build_verify_argv(ffmpeg_path=FF, path="file:/rec/a.mp4") == [
        FF, "-i", "file:/rec/a.mp4", "-f", "null", "-c", "copy", "-map", "0:v:0", "-",
        "-hide_banner", "-nostdin", "-nostats", "-loglevel", "level+info", "-progress", "pipe:1",
    ]
