"""caprec doctor: every check forced to each status with fakes, and real runs on Xvfb."""

from __future__ import annotations

import errno
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import caprec.commands.doctor
import pytest
from caprec.app import app
from caprec.boundary import describe
from caprec.capture.errors import DisplayError
from caprec.capture.ffmpeg.process import ToolResult
from caprec.capture.files.diskspace import GIB, MIB
from caprec.capture.platform.doctor import (
    Check,
    CheckStatus,
    check_display,
    check_free_space,
    check_pynput,
    check_writable,
    worst,
)
from support.doctor import NOT_FOUND, by_name, devices_runner, fake_checks, ffmpeg, finder
from support.env import cli_runner_unset
from support.run import RunCaprec
from support.xserver import XServer
from typer.testing import CliRunner


def test_a_healthy_linux_machine_passes_everything(tmp_path: Path) -> None:
    checks = fake_checks(tmp_path)
    assert [c.name for c in checks] == ["ffmpeg", "libx264", "hardware encoders", "screen input (x11grab)",
                                        "test sources (lavfi)", "display", "cursor log (pynput)", "free space",
                                        "output directory"]
    assert all(c.status is CheckStatus.PASS for c in checks), checks
    named = by_name(checks)
    assert named["ffmpeg"].detail == "/opt/ffmpeg/bin/ffmpeg (version 7.1, from PATH)"
    assert "h264_nvenc, h264_qsv" in named["hardware encoders"].detail
    assert "h264_vaapi" not in named["hardware encoders"].detail  # not an encoder caprec drives
    assert named["display"].detail == ":7 answers (1920x1080)"
    assert named["cursor log (pynput)"].detail == "backend pynput.mouse._xorg"
    assert worst(checks) is CheckStatus.PASS


def test_the_finder_gets_the_record_settings(tmp_path: Path) -> None:
    find = finder(ffmpeg())
    fake_checks(tmp_path, find=find, ffmpeg_path="/x/ffmpeg", ffmpeg_origin="CAPREC_FFMPEG",
                environ={"DISPLAY": ":7", "CAPREC_FFMPEG": "/x/ffmpeg"})
    # The engine reads no variable: it gets the resolved setting and says where it came from.
    assert find.calls == [{"explicit": "/x/ffmpeg", "explicit_origin": "CAPREC_FFMPEG"}]  # type: ignore[attr-defined]


def test_no_ffmpeg_fails_it_and_what_depends_on_it(tmp_path: Path) -> None:
    checks = by_name(fake_checks(tmp_path, find=finder(None)))
    assert checks["ffmpeg"] == Check("ffmpeg", CheckStatus.FAIL, NOT_FOUND)
    assert checks["libx264"].status is CheckStatus.FAIL and "not checked" in checks["libx264"].detail
    assert checks["screen input (x11grab)"].status is CheckStatus.FAIL
    assert checks["display"].status is CheckStatus.PASS  # the rest is still checked
    assert worst(checks.values()) is CheckStatus.FAIL


def test_ffmpeg_without_libx264_fails_and_without_hardware_says_so(tmp_path: Path) -> None:
    checks = by_name(fake_checks(tmp_path, find=finder(ffmpeg(frozenset({"mpeg4"})))))
    assert checks["libx264"].status is CheckStatus.FAIL
    assert "has no libx264 encoder" in checks["libx264"].detail and "`ffmpeg` PATH" in checks["libx264"].detail
    assert checks["hardware encoders"] == Check("hardware encoders", CheckStatus.PASS,
                                                "none built in; libx264 is used")


def test_missing_screen_grabber_fails_and_missing_lavfi_warns(tmp_path: Path) -> None:
    checks = by_name(fake_checks(tmp_path, runner=devices_runner(b" DE alsa   ALSA\n")))
    assert checks["screen input (x11grab)"].status is CheckStatus.FAIL
    assert "has no x11grab input" in checks["screen input (x11grab)"].detail
    assert checks["test sources (lavfi)"].status is CheckStatus.WARN


def test_devices_that_cannot_be_listed_fail(tmp_path: Path) -> None:
    def broken(argv: Sequence[str], *, timeout: float) -> ToolResult:
        raise PermissionError(errno.EACCES, "Permission denied")

    checks = by_name(fake_checks(tmp_path, runner=broken))
    assert checks["screen input (x11grab)"].status is CheckStatus.FAIL
    assert "did not answer" in checks["screen input (x11grab)"].detail


@pytest.mark.parametrize(("platform", "grabber"), [("darwin", "avfoundation"), ("win32", "gdigrab")])
def test_each_platform_needs_its_own_grabber(tmp_path: Path, platform: str, grabber: str) -> None:
    runner = devices_runner(f" D  {grabber}   screen\n D  lavfi   lavfi\n".encode())
    checks = by_name(fake_checks(tmp_path, platform=platform, runner=runner, environ={}))
    assert checks[f"screen input ({grabber})"].status is CheckStatus.PASS
    assert "display" not in checks  # no DISPLAY to check off X11
    linux_only = by_name(fake_checks(tmp_path, platform=platform, environ={}))
    assert linux_only[f"screen input ({grabber})"].status is CheckStatus.FAIL


def test_macos_warns_about_screen_recording_permission(tmp_path: Path) -> None:
    runner = devices_runner(b" D  avfoundation   AVFoundation input device\n D  lavfi   lavfi\n")
    checks = fake_checks(tmp_path, platform="darwin", runner=runner, environ={})
    permission = by_name(checks)["screen recording permission"]
    assert permission.status is CheckStatus.WARN
    assert "Privacy & Security" in permission.detail
    assert worst(checks) is CheckStatus.WARN


def test_display_unset_fails() -> None:
    check = check_display(environ={})
    assert check.status is CheckStatus.FAIL and "DISPLAY is not set" in check.detail


def test_pure_wayland_fails_with_the_reason() -> None:
    check = check_display(environ={"WAYLAND_DISPLAY": "wayland-0"})
    assert check.status is CheckStatus.FAIL and "Wayland" in check.detail


def test_wayland_with_xwayland_warns() -> None:
    check = check_display(environ={"DISPLAY": ":0", "XDG_SESSION_TYPE": "wayland"},
                          screen_size=lambda display: (2560, 1440))
    assert check.status is CheckStatus.WARN
    assert ":0 answers (2560x1440)" in check.detail and "only XWayland windows" in check.detail


def test_display_that_does_not_answer_fails() -> None:
    def refuse(display: str) -> tuple[int, int]:
        raise DisplayError(f"cannot open the X display {display}; check DISPLAY / --display")

    check = check_display(display=":3", environ={"DISPLAY": ":0"}, screen_size=refuse)
    assert check == Check("display", CheckStatus.FAIL, "cannot open the X display :3; check DISPLAY / --display")


def test_display_without_xlib_warns() -> None:
    check = check_display(environ={"DISPLAY": ":0"}, screen_size=lambda display: None)
    assert check.status is CheckStatus.WARN and "python-xlib" in check.detail


def test_pynput_that_cannot_load_is_only_a_warning() -> None:
    def fail() -> str:
        raise ImportError("this platform is not supported: failed to acquire X connection\n\nTry one of ...")

    check = check_pynput(backend=fail)
    assert check.status is CheckStatus.WARN
    assert "failed to acquire X connection" in check.detail and "Try one" not in check.detail
    assert check.detail.endswith("recordings work without the cursor log (`cursor` off)")
    assert describe(check.detail).endswith("(--no-cursor)")


@pytest.mark.parametrize(("free", "status", "needle"), [
    (150 * MIB, CheckStatus.FAIL, "caprec needs 200.0 MiB"),
    (500 * MIB, CheckStatus.WARN, "only 500.0 MiB free"),
    (2 * GIB, CheckStatus.PASS, "2.0 GiB free in"),
])
def test_free_space_thresholds(tmp_path: Path, free: int, status: CheckStatus, needle: str) -> None:
    check = check_free_space(tmp_path, free=lambda path: free)
    assert check.status is status and needle in check.detail and str(tmp_path) in check.detail


def test_unreadable_free_space_warns(tmp_path: Path) -> None:
    def broken(path: Path) -> int:
        raise OSError(errno.EIO, "Input/output error")

    assert check_free_space(tmp_path, free=broken).status is CheckStatus.WARN


def test_writable_directory_passes_and_leaves_nothing(tmp_path: Path) -> None:
    assert check_writable(tmp_path).status is CheckStatus.PASS
    assert list(tmp_path.iterdir()) == []


def test_missing_or_non_directory_output_fails(tmp_path: Path) -> None:
    assert "does not exist" in check_writable(tmp_path / "nope").detail
    (tmp_path / "file").write_text("x")
    check = check_writable(tmp_path / "file")
    assert check.status is CheckStatus.FAIL and "not a directory" in check.detail


def test_unwritable_directory_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Root ignores permission bits, so the refusal is simulated at the call that would meet it.
    def refuse(**kwargs: Any) -> tuple[int, str]:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr("caprec.capture.platform.doctor.tempfile.mkstemp", refuse)
    check = check_writable(tmp_path)
    assert check.status is CheckStatus.FAIL and "Permission denied" in check.detail


# -- the command ----------------------------------------------------------------

def doctor_env(extra: Mapping[str, str], tmp_path: Path) -> dict[str, str | None]:
    """CliRunner's environment: the test process's variables that would change caprec removed."""
    return {**cli_runner_unset(), "XDG_CONFIG_HOME": str(tmp_path / "xdg"), "NO_COLOR": "1", "COLUMNS": "200", **extra}


def test_command_without_ffmpeg_exits_1_with_the_fail_row(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(caprec.commands.doctor, "find_ffmpeg", finder(None))
    result = CliRunner().invoke(app, ["doctor", "--output-dir", str(tmp_path)], env=doctor_env({}, tmp_path))
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 1
    row = next(line for line in result.stdout.splitlines() if "ffmpeg " in line and "fail" in line)
    assert "no usable ffmpeg" in row
    assert "failed" in result.stdout.splitlines()[-1]


def test_command_json_without_ffmpeg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(caprec.commands.doctor, "find_ffmpeg", finder(None))
    result = CliRunner().invoke(app, ["doctor", "--json", "--output-dir", str(tmp_path)],
                                env=doctor_env({}, tmp_path))
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["schema"] == "caprec-doctor/1" and document["status"] == "fail"
    assert {"name": "ffmpeg", "status": "fail", "detail": NOT_FOUND} in document["checks"]
    assert document["counts"]["fail"] >= 1


def test_bad_setting_is_a_failed_config_check_and_the_rest_still_runs(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(caprec.commands.doctor, "find_ffmpeg", finder(None))
    result = CliRunner().invoke(app, ["doctor", "--json", "--output-dir", str(tmp_path)],
                                env=doctor_env({"CAPREC_FPS": "fast"}, tmp_path))
    assert result.exit_code == 1
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["config"]["status"] == "fail" and "CAPREC_FPS" in checks["config"]["detail"]
    assert checks["output directory"]["status"] == "pass"


@pytest.mark.x11
def test_real_doctor_passes_on_xvfb(run_caprec: RunCaprec, caprec_env: dict[str, str], xvfb: XServer,
                                    tmp_path: Path) -> None:
    result = run_caprec(["doctor", "--json", "--output-dir", str(tmp_path)], cwd=tmp_path,
                        env={**caprec_env, "DISPLAY": xvfb.display})
    assert result.returncode == 0, result.stdout + result.stderr
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert all(c["status"] != "fail" for c in checks.values()), checks
    for name in ("ffmpeg", "libx264", "screen input (x11grab)", "display", "cursor log (pynput)",
                 "output directory"):
        assert checks[name]["status"] == "pass", checks[name]
    assert checks["display"]["detail"] == f"{xvfb.display} answers ({xvfb.width}x{xvfb.height})"
    assert checks["cursor log (pynput)"]["detail"] == "backend pynput.mouse._xorg"
    assert list(tmp_path.iterdir()) == []  # the write probe cleaned up


@pytest.mark.x11
def test_real_doctor_table_on_xvfb(run_caprec: RunCaprec, caprec_env: dict[str, str], xvfb: XServer,
                                   tmp_path: Path) -> None:
    result = run_caprec(["doctor"], cwd=tmp_path, env={**caprec_env, "DISPLAY": xvfb.display, "COLUMNS": "200"})
    assert result.returncode == 0, result.stdout + result.stderr
    rows = [line for line in result.stdout.splitlines() if " display " in line]
    assert len(rows) == 1 and " pass " in rows[0] and f"{xvfb.display} answers" in rows[0]
    assert result.stdout.splitlines()[-1].endswith(" 0 failed")


def test_real_doctor_with_a_broken_ffmpeg_exits_1(run_caprec: RunCaprec, tmp_path: Path) -> None:
    result = run_caprec(["doctor", "--json", "--ffmpeg", str(tmp_path / "no-ffmpeg"), "--output-dir",
                         str(tmp_path)], cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["ffmpeg"]["status"] == "fail"
    assert "--ffmpeg names" in checks["ffmpeg"]["detail"] and "not a working ffmpeg" in checks["ffmpeg"]["detail"]
    assert checks["display"]["status"] == "fail"  # no DISPLAY in this run
    assert checks["cursor log (pynput)"]["status"] == "warn"
