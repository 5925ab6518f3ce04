"""docs/library.md's example, run exactly as written: 3 s of the test pattern and a cursor log from Python."""

from __future__ import annotations

import contextlib
import io
import re
import subprocess
import threading
from pathlib import Path

import pytest
from caprec.capture.cursor.reader import read_cursor_log
from support.media import ffprobe
from support.paths import REPO_ROOT
from support.xserver import XServer

DOC = REPO_ROOT / "docs" / "library.md"
EXAMPLE_DURATION_S = 3.0
DURATION_SLACK_S = 0.2
MOVE_INTERVAL_S = 0.2
XDOTOOL_TIMEOUT_S = 10.0


def example_code() -> str:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) == 1, f"{DOC} should hold one python example, found {len(blocks)}"
    return blocks[0]


@pytest.mark.x11
def test_the_library_example_records_video_and_cursor(xvfb: XServer, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DISPLAY", xvfb.display)
    done = threading.Event()

    def wiggle() -> None:
        # The pointer moves while the example records, so the log has events to count.
        step = 0
        while not done.wait(MOVE_INTERVAL_S):
            step += 1
            subprocess.run(["xdotool", "mousemove", str(100 + 10 * (step % 20)), "200"], env=xvfb.env,
                           check=False, timeout=XDOTOOL_TIMEOUT_S)

    mover = threading.Thread(target=wiggle, name="wiggle")
    mover.start()
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(example_code(), str(DOC), "exec"), {"__name__": "library_example"})
    finally:
        done.set()
        mover.join()

    printed = out.getvalue()
    assert re.search(r"^complete: demo\.mp4 \(\d+ frames\)$", printed, flags=re.M), printed
    probe = ffprobe(tmp_path / "demo.mp4")
    assert probe.codec == "h264"
    assert (probe.width, probe.height) == (640, 360)
    assert probe.duration is not None and abs(probe.duration - EXAMPLE_DURATION_S) <= DURATION_SLACK_S
    events = read_cursor_log(tmp_path / "demo.cursor.ndjson").events
    assert any(event["type"] == "move" for event in events), printed
    assert f"cursor log: demo.cursor.ndjson ({len(events)} events)" in printed
