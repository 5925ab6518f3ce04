"""Warnings that mean something: a plain x11grab recording warns about nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import RunCaprec, XServer

from capture.progress import StderrReader

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
