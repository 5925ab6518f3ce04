"""``caprec recover``'s sync, the way Windows allows it (simulated: no Windows here).

On Windows :func:`os.fsync` is FlushFileBuffers, which needs a handle with
write access (EBADF on a read-only one), and a file with the read-only
attribute cannot be opened for writing at all, not even by an administrator.
The fakes below apply exactly those two rules to real file descriptors.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest
from caprec.capture.files.tempfiles import owned_temp
from caprec.capture.studio.repair import rewrite_verified
from support.media import FPS, fragmented_video
from support.windows import windows_fsync


def test_the_simulated_windows_fsync_refuses_a_read_only_handle(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"data")
    fd = os.open(path, os.O_RDONLY)
    try:
        with pytest.raises(OSError, match="Bad file descriptor"):
            windows_fsync(fd)  # what recover did before: open read-only, then fsync
    finally:
        os.close(fd)


def test_a_temporary_copy_is_synced_through_its_own_writable_descriptor(tmp_path: Path) -> None:
    destination = tmp_path / "take.mp4"
    with owned_temp(destination, "recover") as temp:
        os.write(temp.fd, b"recorded bytes")
        temp.commit(destination, sync=windows_fsync)
    assert destination.read_bytes() == b"recorded bytes"


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")
def test_rewrite_of_a_read_only_recording_syncs_and_keeps_the_mode(tmp_path: Path) -> None:
    source = fragmented_video(tmp_path / "part.mp4", 2)
    destination = tmp_path / "take.mp4"
    destination.write_bytes(source.read_bytes())
    destination.chmod(0o444)
    media, why = rewrite_verified([source], destination, expected_frames=2 * FPS, ffmpeg_path="ffmpeg",
                                  sync=windows_fsync)
    assert why is None and media is not None and media.frames == 2 * FPS
    assert stat.S_IMODE(destination.stat().st_mode) == 0o444
    assert sorted(p.name for p in tmp_path.iterdir()) == ["part.mp4", "take.mp4"]
