"""The ffmpeg probe cache: one probe per binary, keyed by path, size and mtime; never a risk."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from caprec.capture.ffmpeg.binary import Probe, cached_probe
from caprec.capture.ffmpeg.probe_cache import ProbeCache, binary_key, default_cache_dir

ANSWER = Probe(version="5.1.9", encoders=frozenset({"libx264", "h264_nvenc"}))


def _counting() -> tuple[list[str], object]:
    calls: list[str] = []

    def probe(path: str) -> Probe | None:
        calls.append(path)
        return ANSWER

    return calls, probe


def _binary(tmp_path: Path) -> Path:
    binary = tmp_path / "ffmpeg"
    binary.write_bytes(b"#!/bin/sh\n")
    return binary


def test_a_binary_is_probed_once(tmp_path: Path) -> None:
    cache = ProbeCache(tmp_path / "cache")
    calls, probe = _counting()
    binary = str(_binary(tmp_path))
    assert cached_probe(binary, cache=cache, probe=probe) == ANSWER  # type: ignore[arg-type]
    assert cached_probe(binary, cache=cache, probe=probe) == ANSWER  # type: ignore[arg-type]
    assert calls == [binary]
    assert oct((tmp_path / "cache").stat().st_mode & 0o777) == oct(0o700)
    assert [oct(p.stat().st_mode & 0o777) for p in (tmp_path / "cache").iterdir()] == [oct(0o600)]


def test_a_replaced_binary_is_probed_again(tmp_path: Path) -> None:
    cache = ProbeCache(tmp_path / "cache")
    calls, probe = _counting()
    binary = _binary(tmp_path)
    key = binary_key(str(binary))
    cached_probe(str(binary), cache=cache, probe=probe)  # type: ignore[arg-type]
    binary.write_bytes(b"#!/bin/sh\n# a new build\n")
    assert binary_key(str(binary)) != key
    cached_probe(str(binary), cache=cache, probe=probe)  # type: ignore[arg-type]
    assert len(calls) == 2


def test_a_failed_probe_is_not_cached(tmp_path: Path) -> None:
    cache = ProbeCache(tmp_path / "cache")
    binary = str(_binary(tmp_path))
    assert cached_probe(binary, cache=cache, probe=lambda path: None) is None
    assert not (tmp_path / "cache").exists() or list((tmp_path / "cache").iterdir()) == []


def test_a_planted_symlink_is_neither_read_nor_written_through(tmp_path: Path) -> None:
    directory = tmp_path / "cache"
    directory.mkdir(mode=0o700)
    binary = str(_binary(tmp_path))
    key = binary_key(binary)
    assert key is not None
    victim = tmp_path / "victim"
    victim.write_text('{"format": 1, "value": {"version": "evil", "encoders": []}}')
    (directory / f"{key}.json").symlink_to(victim)
    calls, probe = _counting()
    assert cached_probe(binary, cache=ProbeCache(directory), probe=probe) == ANSWER  # type: ignore[arg-type]
    assert calls == [binary]
    assert victim.read_text().startswith('{"format": 1, "value": {"version": "evil"')  # untouched
    assert not (directory / f"{key}.json").is_symlink()  # replaced by a real entry


@pytest.mark.parametrize("kind", ["symlink", "shared"])
def test_an_unsafe_cache_directory_is_not_used(tmp_path: Path, kind: str) -> None:
    real = tmp_path / "elsewhere"
    real.mkdir(mode=0o700)
    directory = tmp_path / "cache"
    if kind == "symlink":
        directory.symlink_to(real)
    else:
        directory.mkdir()
        os.chmod(directory, 0o777)
    calls, probe = _counting()
    binary = str(_binary(tmp_path))
    for _ in range(2):
        cached_probe(binary, cache=ProbeCache(directory), probe=probe)  # type: ignore[arg-type]
    assert len(calls) == 2
    assert list(real.iterdir()) == []
    if kind == "shared":
        assert list(directory.iterdir()) == []


def test_a_corrupt_entry_is_ignored(tmp_path: Path) -> None:
    directory = tmp_path / "cache"
    directory.mkdir(mode=0o700)
    binary = str(_binary(tmp_path))
    (directory / f"{binary_key(binary)}.json").write_bytes(b"\x00not json")
    calls, probe = _counting()
    assert cached_probe(binary, cache=ProbeCache(directory), probe=probe) == ANSWER  # type: ignore[arg-type]
    assert len(calls) == 1


def test_the_cache_directory_follows_xdg_cache_home(tmp_path: Path) -> None:
    assert default_cache_dir({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "caprec"
    assert default_cache_dir({}).name == "caprec"


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")
def test_record_uses_the_cache(run_caprec: object, caprec_env: dict[str, str], tmp_path: Path) -> None:
    for _ in range(2):
        result = run_caprec(["record", "--source", "test", "--dry-run", "-o", "x.mp4"],  # type: ignore[operator]
                            cwd=tmp_path)
        assert result.returncode == 0, result.stderr
    entries = list((Path(caprec_env["XDG_CACHE_HOME"]) / "caprec").glob("*.json"))
    assert len(entries) == 1
