"""``caprec record`` planned for macOS and Windows: exact argv, cursor log header, notes.

The platform and its displays are handed in (``platform=``, ``displays=``):
nothing of macOS or Windows exists here, so the plan and the argv FFmpeg
would run are pinned instead.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from caprec.capture.cursor.format import Region as CursorRegion
from caprec.capture.errors import SettingError
from caprec.capture.ffmpeg.argv import FRAGMENTED_MP4_FLAGS
from caprec.capture.platform.displays import DisplayInfo, GeometryUnavailable
from caprec.capture.record.framebudget import QUEUE_MEMORY_BUDGET
from caprec.commands.plan import RecordPlan, dry_run_text, plan_argv, resolve_plan
from caprec.env import Environment

MAIN = DisplayInfo(x=0, y=0, width=1920, height=1080, pixel_width=1920, pixel_height=1080, main=True)
RETINA_LEFT = DisplayInfo(x=-1512, y=-200, width=1512, height=982, pixel_width=3024, pixel_height=1964)
PRIMARY = DisplayInfo(x=0, y=0, width=1920, height=1080, pixel_width=1920, pixel_height=1080, main=True)
LEFT = DisplayInfo(x=-1280, y=0, width=1280, height=1024, pixel_width=1280, pixel_height=1024)


@pytest.fixture
def env(caprec_env: dict[str, str]) -> Environment:
    return Environment(environ=caprec_env)


def no_geometry() -> list[DisplayInfo]:
    raise GeometryUnavailable("pyobjc's Quartz is missing")


def plan_for(env: Environment, tmp_path: Path, platform: str, displays: list[DisplayInfo] | None = None,
             **flags: str | bool) -> RecordPlan:
    reader = no_geometry if displays is None else lambda: list(displays)
    output = str(flags.pop("output", tmp_path / "talk.mp4"))
    return resolve_plan(env=env, output=output, platform=platform, displays=reader, **flags)  # type: ignore[arg-type]


def input_of(argv: list[str]) -> str:
    return argv[argv.index("-i") + 1]


def option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def test_macos_default_screen_is_named_not_an_index(env: Environment, tmp_path: Path) -> None:
    plan = plan_for(env, tmp_path, "darwin", [MAIN])
    argv = plan_argv(plan)
    assert input_of(argv) == "Capture screen 0:none"
    assert "# display = Capture screen 0  (default)" in dry_run_text(plan).splitlines()
    assert option(argv, "-f") == "avfoundation" and option(argv, "-capture_cursor") == "1"


def test_macos_cursor_log_in_points_with_scale_on_a_retina_screen_left_of_main(env: Environment,
                                                                               tmp_path: Path) -> None:
    plan = plan_for(env, tmp_path, "darwin", [MAIN, RETINA_LEFT], display="Capture screen 1",
                    region="1000x600+200+100", cursor=True)
    assert plan.cursor is not None
    context = plan.cursor.context
    assert context.region == CursorRegion(x=-1412, y=-150, width=500, height=300)
    assert (context.unit, context.scale, context.screen_width, context.screen_height) == ("points", 2, 1512, 982)
    argv = plan_argv(plan)
    assert input_of(argv) == "Capture screen 1:none"
    assert "[0]crop=1000:600:200:100[s0]" in argv


def test_dry_run_shows_the_cursor_log_on_macos_and_windows(env: Environment, tmp_path: Path) -> None:
    for platform, displays in (("darwin", [MAIN]), ("win32", [PRIMARY, LEFT])):
        plan = plan_for(env, tmp_path, platform, displays, cursor=True)
        text = dry_run_text(plan)
        assert f"# cursor log -> {tmp_path / 'talk.cursor.ndjson'}" in text.splitlines()
        assert "# cursor = on  (--cursor/--no-cursor)" in text.splitlines()


def test_windows_desktop_cursor_region_starts_at_the_left_monitor(env: Environment, tmp_path: Path) -> None:
    plan = plan_for(env, tmp_path, "win32", [PRIMARY, LEFT], cursor=True)
    assert plan.cursor is not None
    context = plan.cursor.context
    assert context.region == CursorRegion(x=-1280, y=0, width=3200, height=1080)
    assert (context.unit, context.scale, context.source) == ("pixels", 1, "gdigrab")
    argv = plan_argv(plan)
    assert input_of(argv) == "desktop" and option(argv, "-draw_mouse") == "1"


def test_studio_hides_the_pointer_only_when_the_log_carries_it(env: Environment, tmp_path: Path) -> None:
    placed = plan_for(env, tmp_path, "darwin", [MAIN], mode="studio", output=tmp_path / "a")
    assert placed.cursor is not None
    assert option(plan_argv(placed), "-capture_cursor") == "0"
    unknown = plan_for(env, tmp_path, "darwin", None, mode="studio", output=tmp_path / "b")
    assert unknown.cursor is None
    assert option(plan_argv(unknown), "-capture_cursor") == "1"
    windows = plan_for(env, tmp_path, "win32", None, mode="studio", output=tmp_path / "c")
    assert option(plan_argv(windows), "-draw_mouse") == "1"


def test_unknown_geometry_says_so(env: Environment, tmp_path: Path) -> None:
    plan = plan_for(env, tmp_path, "darwin", None, cursor=True)
    assert plan.cursor is None
    assert plan.notes == ("no cursor log: the pointer cannot be placed in the video (pyobjc's Quartz is missing); "
                          "the pointer stays drawn in the video",)
    text = dry_run_text(plan)
    assert "# cursor = off  (--cursor/--no-cursor)" in text.splitlines()
    assert "# note: no cursor log: the pointer cannot be placed" in text
    assert shlex.split(text, comments=True) == plan_argv(plan)
    bare_index = plan_for(env, tmp_path, "darwin", [MAIN], display="1", cursor=True)
    assert bare_index.cursor is None and "avfoundation index" in bare_index.notes[0]


def test_retina_queue_is_bounded_by_bytes(env: Environment, tmp_path: Path) -> None:
    retina = DisplayInfo(x=0, y=0, width=1440, height=900, pixel_width=2880, pixel_height=1800, main=True)
    plan = plan_for(env, tmp_path, "darwin", [retina], mode="studio", output=tmp_path / "r")
    expected = QUEUE_MEMORY_BUDGET // (2880 * 1800 * 2)
    assert option(plan_argv(plan), "-thread_queue_size") == str(expected) == "51"
    assert plan.queue_size == expected
    assert any("queue_size 240 lowered to 51" in note for note in plan.notes)
    # The user's own number is kept.
    explicit = plan_for(env, tmp_path, "darwin", [retina], queue_size="200", output=tmp_path / "e.mp4")
    assert option(plan_argv(explicit), "-thread_queue_size") == "200"


def ffmpeg_9() -> str:
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def test_ddagrab_is_selected_with_per_monitor_offsets(env: Environment, tmp_path: Path) -> None:
    binary = ffmpeg_9()
    plan = plan_for(env, tmp_path, "win32", [PRIMARY, LEFT], source="ddagrab", ffmpeg_path=binary, display="1",
                    region="640x480+100+50", cursor=True)
    assert plan_argv(plan) == [
        binary, "-f", "lavfi", "-thread_queue_size", "96",
        "-i", "ddagrab=output_idx=1:framerate=30:draw_mouse=1:video_size=640x480:offset_x=100:offset_y=50",
        "-filter_complex", "[0]hwdownload[s0];[s0]format=bgra[s1]", "-map", "[s1]",
        "-f", "mp4", "-c:v", "libx264", "-crf", "23", "-g", "30", "-movflags", FRAGMENTED_MP4_FLAGS,
        "-pix_fmt", "yuv420p", "-preset", "veryfast", "-thread_queue_size", "96", "-tune", "zerolatency", "pipe:1",
        "-hide_banner", "-nostats", "-loglevel", "level+info", "-progress", "pipe:2", "-stats_period", "0.5",
    ]
    assert plan.cursor is not None
    # Monitor 1's origin is (-1280, 0): the region is offset from it.
    assert plan.cursor.context.region == CursorRegion(x=-1180, y=50, width=640, height=480)
    assert plan.cursor.context.source == "ddagrab"


@pytest.mark.parametrize(("platform", "ffmpeg", "flags", "message"), [
    ("linux", "ffmpeg_9", {}, "--source: ddagrab (Desktop Duplication) exists only on Windows; use --source screen"),
    ("darwin", "ffmpeg_9", {}, "exists only on Windows"),
    ("win32", "ffmpeg", {}, "--source: ddagrab needs FFmpeg 6.0 or later, but /usr/bin/ffmpeg is 5.1"),
    ("win32", "ffmpeg_9", {"display": "HDMI-1"}, "--display: 'HDMI-1' is not a ddagrab output; give a monitor index"),
])
def test_ddagrab_refusals_are_one_line(env: Environment, tmp_path: Path, platform: str, ffmpeg: str,
                                       flags: dict[str, str], message: str) -> None:
    binary = ffmpeg_9() if ffmpeg == "ffmpeg_9" else "/usr/bin/ffmpeg"  # Debian's 5.1
    with pytest.raises(SettingError) as raised:
        plan_for(env, tmp_path, platform, [PRIMARY], source="ddagrab", ffmpeg_path=binary, **flags)
    text = str(raised.value)
    assert message in text and "\n" not in text


def test_a_region_outside_the_captured_display_is_refused(env: Environment, tmp_path: Path) -> None:
    with pytest.raises(SettingError, match=r"^--region: 4000x600\+0\+0 lies outside the 3024x1964 screen"):
        plan_for(env, tmp_path, "darwin", [MAIN, RETINA_LEFT], display="Capture screen 1", region="4000x600+0+0")
    with pytest.raises(SettingError, match=r"^--region: 1280x720\+100\+400 lies outside the 1280x1024 screen"):
        plan_for(env, tmp_path, "win32", [PRIMARY, LEFT], source="ddagrab", ffmpeg_path=ffmpeg_9(), display="1",
                 region="1280x720+100+400")
    assert not list(tmp_path.iterdir())
