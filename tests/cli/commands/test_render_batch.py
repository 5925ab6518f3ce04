"""``render`` in batch plans: a studio capture rendered right after it is recorded."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest
from support.media import ffprobe
from support.run import RunCaprec

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")

FPS = 15
DURATION_S = 1


def _plan(tmp_path: Path, body: str) -> Path:
    plan = tmp_path / "plan.toml"
    plan.write_text(textwrap.dedent(body))
    return plan


def test_render_true_renders_the_bundle_after_the_capture(run_caprec: RunCaprec, tmp_path: Path) -> None:
    plan = _plan(tmp_path, f"""
        [[capture]]
        output = "take.caprec"
        source = "test"
        mode = "studio"
        audio = "test"
        fps = {FPS}
        duration = {DURATION_S}
        render = true

        [[capture]]
        output = "gif-{{n}}"
        source = "test"
        mode = "studio"
        fps = {FPS}
        duration = {DURATION_S}
        repeat = 1
        render = "clip-{{n}}.gif"
    """)
    result = run_caprec(["batch", str(plan), "--json"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    summaries = json.loads(result.stdout)
    assert [s["render"]["status"] for s in summaries] == ["complete", "complete"]
    mp4, gif = ffprobe(tmp_path / "take.mp4"), ffprobe(tmp_path / "clip-1.gif")
    assert mp4.codec == "h264" and abs(mp4.frames - FPS * DURATION_S) <= 2
    assert gif.codec == "gif" and gif.frames > 0
    assert "rendered" in result.stderr


def test_render_needs_a_studio_capture(run_caprec: RunCaprec, tmp_path: Path) -> None:
    plan = _plan(tmp_path, """
        [[capture]]
        output = "a.mp4"
        source = "test"
        duration = 1
        render = true
    """)
    result = run_caprec(["batch", str(plan)], cwd=tmp_path)
    assert result.returncode == 2
    assert "capture 1 (a.mp4): render: renders a studio bundle" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.toml"]


def test_an_existing_render_file_is_a_plan_error(run_caprec: RunCaprec, tmp_path: Path) -> None:
    (tmp_path / "take.mp4").write_bytes(b"keep")
    plan = _plan(tmp_path, """
        [[capture]]
        output = "take.caprec"
        source = "test"
        mode = "studio"
        duration = 1
        render = true
    """)
    result = run_caprec(["batch", str(plan)], cwd=tmp_path)
    assert result.returncode == 2
    assert "render: " in result.stderr and "take.mp4 already exists" in result.stderr
    assert (tmp_path / "take.mp4").read_bytes() == b"keep" and not (tmp_path / "take.caprec").exists()
