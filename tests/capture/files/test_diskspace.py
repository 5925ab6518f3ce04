"""Free disk space: the start check's thresholds, the stop watch with an injected clock."""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

import pytest
from caprec.capture.errors import CaptureError, DiskFullError
from caprec.capture.files.diskspace import (
    CHECK_INTERVAL_S,
    GIB,
    MIB,
    REFUSE_BELOW_BYTES,
    STOP_BELOW_BYTES,
    WARN_BELOW_BYTES,
    DiskSpaceError,
    DiskWatch,
    check_start,
    existing_ancestor,
    free_bytes,
    has_room,
)
from caprec.exit import ExitStatus, exit_status_for
from support.clock import FakeClock


class FakeDisk:
    """Free space as a test sets it, counting how often it is asked."""

    def __init__(self, free: int) -> None:
        self.free = free
        self.calls: list[Path] = []
        self.error: OSError | None = None

    def __call__(self, path: Path) -> int:
        self.calls.append(path)
        if self.error is not None:
            raise self.error
        return self.free


def test_thresholds_are_ordered() -> None:
    assert STOP_BELOW_BYTES < REFUSE_BELOW_BYTES < WARN_BELOW_BYTES
    assert (STOP_BELOW_BYTES, REFUSE_BELOW_BYTES, WARN_BELOW_BYTES) == (64 * MIB, 200 * MIB, 1 * GIB)


def test_existing_ancestor_of_a_file_not_yet_written(tmp_path: Path) -> None:
    assert existing_ancestor(tmp_path / "a" / "b" / "clip.mp4") == tmp_path
    assert existing_ancestor(tmp_path) == tmp_path


def test_existing_ancestor_of_a_relative_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert existing_ancestor(Path("clip.mp4")) == tmp_path


def test_free_bytes_measures_the_existing_ancestor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[Path] = []
    real = shutil.disk_usage

    def spy(path: Path) -> object:
        asked.append(Path(path))
        return real(path)

    monkeypatch.setattr("caprec.capture.files.diskspace.shutil.disk_usage", spy)
    free = free_bytes(tmp_path / "missing" / "clip.mp4")
    assert asked == [tmp_path]
    assert isinstance(free, int) and free > 0


def test_plenty_of_space_starts_silently(tmp_path: Path) -> None:
    assert check_start(tmp_path / "clip.mp4", free=FakeDisk(WARN_BELOW_BYTES)) is None


def test_below_the_warning_threshold_starts_with_a_warning(tmp_path: Path) -> None:
    warning = check_start(tmp_path / "clip.mp4", free=FakeDisk(WARN_BELOW_BYTES - 1))
    assert warning is not None
    assert "1024.0 MiB free" in warning and str(tmp_path) in warning
    assert "64.0 MiB" in warning  # says when the recording will stop


def test_exactly_the_refuse_threshold_still_starts(tmp_path: Path) -> None:
    assert check_start(tmp_path, free=FakeDisk(REFUSE_BELOW_BYTES)) is not None


def test_below_the_refuse_threshold_is_refused_with_the_fix(tmp_path: Path) -> None:
    with pytest.raises(DiskSpaceError) as caught:
        check_start(tmp_path / "out" / "clip.mp4", free=FakeDisk(150 * MIB))
    message = str(caught.value)
    assert "only 150.0 MiB free" in message
    assert str(tmp_path) in message  # the directory that exists, not the file that does not
    assert "200.0 MiB" in message
    assert "`output_dir`" in message and "`output`" in message and "--" not in message


def test_disk_space_error_is_a_capture_error_with_the_disk_exit_code() -> None:
    error = DiskSpaceError("x")
    assert isinstance(error, CaptureError) and isinstance(error, DiskFullError)
    assert exit_status_for(error) is ExitStatus.DISK_FULL


def test_unreadable_free_space_is_a_warning_not_a_refusal(tmp_path: Path) -> None:
    disk = FakeDisk(0)
    disk.error = OSError(errno.EIO, "Input/output error")
    warning = check_start(tmp_path, free=disk)
    assert warning is not None and "cannot tell" in warning and "Input/output error" in warning


def test_has_room_keeps_the_reserve(tmp_path: Path) -> None:
    disk = FakeDisk(STOP_BELOW_BYTES + 100 * MIB)
    assert has_room(tmp_path, 100 * MIB, free=disk)
    assert not has_room(tmp_path, 100 * MIB + 1, free=disk)
    disk.error = OSError(errno.EIO, "Input/output error")
    assert not has_room(tmp_path, 1, free=disk)


def test_watch_asks_the_disk_at_most_once_per_interval(tmp_path: Path) -> None:
    clock, disk = FakeClock(), FakeDisk(10 * GIB)
    watch = DiskWatch(tmp_path / "clip.mp4", clock=clock, free=disk)
    assert watch.should_stop(0) is False
    assert len(disk.calls) == 1
    for tick in range(1, 10):  # the recorder's 0.1 s ticks within one interval
        clock.advance(CHECK_INTERVAL_S / 10 * 0.99)
        assert watch.should_stop(tick * MIB) is False
    assert len(disk.calls) == 1
    clock.advance(CHECK_INTERVAL_S)
    assert watch.should_stop(20 * MIB) is False
    assert len(disk.calls) == 2


def test_watch_stops_when_free_space_falls_below_the_threshold_and_stays_stopped(tmp_path: Path) -> None:
    clock, disk = FakeClock(), FakeDisk(STOP_BELOW_BYTES)
    watch = DiskWatch(tmp_path / "clip.mp4", clock=clock, free=disk)
    assert watch.should_stop(0) is False  # exactly at the threshold: go on
    disk.free = STOP_BELOW_BYTES - 1
    clock.advance(CHECK_INTERVAL_S)
    assert watch.should_stop(MIB) is True
    disk.free = 10 * GIB  # someone freed space: the decision stands, no more looks
    clock.advance(CHECK_INTERVAL_S)
    assert watch.should_stop(2 * MIB) is True
    assert len(disk.calls) == 2
    message = watch.message()
    assert "64.0 MiB" in message and str(tmp_path) in message and "free some space" in message


def test_writes_that_eat_the_margin_bring_the_next_look_forward(tmp_path: Path) -> None:
    clock, disk = FakeClock(), FakeDisk(STOP_BELOW_BYTES + 10 * MIB)
    watch = DiskWatch(tmp_path / "clip.mp4", clock=clock, free=disk)
    assert watch.should_stop(0) is False
    clock.advance(CHECK_INTERVAL_S / 10)
    assert watch.should_stop(5 * MIB) is False  # estimate still above the threshold: no look
    assert len(disk.calls) == 1
    disk.free = STOP_BELOW_BYTES - MIB  # what those writes did to the disk
    clock.advance(CHECK_INTERVAL_S / 10)
    assert watch.should_stop(11 * MIB) is True  # the estimate crossed: looked before the interval
    assert len(disk.calls) == 2


def test_a_failed_look_never_stops_the_recording(tmp_path: Path) -> None:
    clock, disk = FakeClock(), FakeDisk(10 * GIB)
    disk.error = OSError(errno.ENOENT, "No such file or directory")
    watch = DiskWatch(tmp_path / "clip.mp4", clock=clock, free=disk)
    assert watch.should_stop(0) is False
    assert "only too little free" in watch.message()  # no figure to show
    clock.advance(CHECK_INTERVAL_S / 2)
    assert watch.should_stop(10 * GIB) is False  # no figure, no estimate: waits for the interval
    assert len(disk.calls) == 1
    disk.error = None
    clock.advance(CHECK_INTERVAL_S)
    assert watch.should_stop(10 * GIB) is False
    assert "only 10.0 GiB free" in watch.message()


def test_watch_on_a_real_disk(tmp_path: Path) -> None:
    watch = DiskWatch(tmp_path / "clip.mp4", stop_below=1)
    assert watch.should_stop(0) is False
    more_than_any_disk = 1 << 62
    full = DiskWatch(tmp_path / "clip.mp4", stop_below=more_than_any_disk)
    assert full.should_stop(0) is True
    assert f"free in {tmp_path} (caprec stops below" in full.message() and "too little" not in full.message()
