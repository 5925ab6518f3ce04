"""Warnings that mean something: a plain x11grab recording warns about nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from caprec.capture.errors import CaptureError
from caprec.capture.ffmpeg.argv import Backend, Encoding, VideoSource
from caprec.capture.ffmpeg.binary import find_ffmpeg
from caprec.capture.ffmpeg.progress import StderrReader
from caprec.capture.record.segment import Recorder
from caprec.capture.record.session import CursorSpec, Mode, Session, SessionSpec
from support.run import RunCaprec
from support.xserver import XServer

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")


@pytest.mark.x11
def test_an_x11grab_recording_has_no_warning(run_caprec: RunCaprec, caprec_env: dict[str, str], xvfb: XServer,
                                             tmp_path: Path) -> None:
    env = {**caprec_env, "DISPLAY": xvfb.display}
    result = run_caprec(["record", "-d", "1", "--display", xvfb.display, "--no-cursor", "-o", "f.mp4", "--json"],
                        cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert "probesize" not in result.stderr
    assert "warn" not in result.stderr, result.stderr
    assert json.loads(result.stdout)["warnings"] == 0


def test_a_known_harmless_message_is_not_a_warning() -> None:
    seen: list[str] = []
    reader = StderrReader(None, on_log=lambda line: seen.append(line.text))  # type: ignore[arg-type]
    reader.feed([
        "[x11grab @ 0x55ccc9286300] [warning] Stream #0: not enough frames to estimate rate; consider increasing"
        " probesize",
        "[libx264 @ 0x5] [warning] some real problem",
    ])
    assert seen == ["[libx264] some real problem"]
    assert reader.state.warnings == 1


class _NoCursor:
    """A cursor sidecar that cannot start (as without an X RECORD extension)."""

    def start(self) -> None:
        raise CaptureError("cursor capture unavailable: no RECORD extension")

    def stop(self) -> None:  # pragma: no cover - never started
        raise AssertionError("a sidecar that did not start is not stopped")

    def set_origin(self, *, monotonic: float, wall: float) -> None:
        pass

    def stats(self) -> None:
        return None

    def pause(self) -> None:
        pass

    def resume(self, *, offset_ms: float) -> None:
        pass


def test_live_stats_and_the_result_count_the_same_warnings(tmp_path: Path) -> None:
    shown: list[str] = []
    counts: list[int] = []
    spec = SessionSpec(mode=Mode.INSTANT, source=VideoSource(Backend.LAVFI, device="320x240"),
                       encoding=Encoding(duration=1), output=tmp_path / "w.mp4",
                       cursor=CursorSpec(path=tmp_path / "w.cursor.ndjson", context=None,  # type: ignore[arg-type]
                                         flush_interval=1.0))
    session = Session(Recorder(find_ffmpeg()),
                      cursor_factory=lambda plan, warn: _NoCursor())  # type: ignore[arg-type,return-value]
    result = session.run(spec, on_warning=shown.append, on_stats=lambda stats: counts.append(stats.warnings))
    assert len(shown) == 1 and "RECORD" in shown[0]
    assert result.stats.warnings == len(shown)
    assert result.stats.last_warning == shown[-1]
    assert counts and counts[-1] == len(shown)
