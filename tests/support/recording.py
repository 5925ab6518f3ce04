"""A caprec recording in the background: started on Xvfb with a cursor log, then waited for to its end."""

from __future__ import annotations

import subprocess
from pathlib import Path

from support.files import file_size
from support.polling import wait_until
from support.run import SpawnCaprec
from support.xserver import XServer

START_TIMEOUT_S = 20.0
FINISH_TIMEOUT_S = 40.0


def record_in_background(spawn_caprec: SpawnCaprec, xvfb: XServer, env: dict[str, str], tmp_path: Path,
                         *extra: str, name: str = "rec.mp4") -> tuple[subprocess.Popen[bytes], Path, Path]:
    """``caprec record --cursor`` of ``xvfb`` into ``tmp_path/name``, returned once the video and the log exist.

    Returns the process, the video's path and the cursor log's path.
    """
    video = tmp_path / name
    proc = spawn_caprec(["record", "--display", xvfb.display, "-o", str(video), "--quiet", "--cursor", *extra],
                        cwd=tmp_path, env=env)
    log = video.with_name(video.stem + ".cursor.ndjson")
    wait_until(lambda: (file_size(video) > 0 and log.exists()) or proc.poll() is not None, START_TIMEOUT_S,
               message="the recording to start")
    assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
    return proc, video, log


def finish(proc: subprocess.Popen[bytes], timeout: float = FINISH_TIMEOUT_S) -> tuple[int, str]:
    """Wait for ``proc`` to exit: its exit code and its stderr as text."""
    _, err = proc.communicate(timeout=timeout)
    return proc.returncode, err.decode(errors="replace") if err else ""
