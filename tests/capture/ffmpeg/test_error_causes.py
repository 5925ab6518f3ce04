"""Errors name the real cause: presets and encoders checked up front, FFmpeg's most specific line otherwise."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from caprec.capture.errors import DeviceError
from caprec.capture.ffmpeg.argv import AudioBackend, AudioSource, Backend, Encoding, VideoSource
from caprec.capture.ffmpeg.binary import find_ffmpeg
from caprec.capture.ffmpeg.encoders import X264_PRESETS, encoder_presets, most_specific_line, parse_option_values
from caprec.capture.ffmpeg.probe_cache import ProbeCache
from caprec.capture.record.segment import Recorder, Target
from support.run import RunCaprec

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")

NVENC_HELP = """\
Encoder h264_nvenc [NVIDIA NVENC H.264 encoder]:
h264_nvenc AVOptions:
  -preset            <int>        E..V....... Set the encoding preset (from 0 to 18) (default p4)
     default         0            E..V.......
     slow            1            E..V....... hq 2 passes
     p7              18           E..V....... slowest (best quality)
  -tune              <int>        E..V....... Set the encoding tuning info (from 1 to 4) (default hq)
     hq              1            E..V....... High quality
"""


def _has_working(codec: str) -> bool:
    binary = find_ffmpeg()
    if codec not in binary.encoders:
        return False
    done = subprocess.run([binary.path, "-v", "quiet", "-f", "lavfi", "-i", "color=size=256x256", "-frames:v", "1",
                           "-c:v", codec, "-f", "null", "-"], capture_output=True, check=False, timeout=30)
    return done.returncode == 0


def _one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: "), lines
    return lines[0]


def test_preset_constants_are_read_from_the_encoders_help() -> None:
    assert parse_option_values(NVENC_HELP, "preset") == ("default", "slow", "p7")
    assert parse_option_values(NVENC_HELP, "tune") == ("hq",)
    assert parse_option_values(NVENC_HELP, "rc") == ()


def test_the_most_specific_line_wins_over_ffmpegs_generic_summary() -> None:
    lines = ("[h264_nvenc @ 0x559f8ecf95c0] [error] Cannot load libcuda.so.1",
             "[error] Error initializing output stream 0:0 -- Error while opening encoder for output stream #0:0")
    assert most_specific_line(lines) == "[h264_nvenc] Cannot load libcuda.so.1"
    assert most_specific_line(("Conversion failed!",)) == "Conversion failed!"
    assert most_specific_line(()) is None


@pytest.mark.parametrize(("args", "env_preset", "culprit"), [
    (["--preset", "superfastest"], None, "--preset"),
    ([], "bogus", "CAPREC_PRESET"),
])
def test_a_bad_preset_is_bad_input(run_caprec: RunCaprec, caprec_env: dict[str, str], tmp_path: Path,
                                   args: list[str], env_preset: str | None, culprit: str) -> None:
    env = {**caprec_env, **({"CAPREC_PRESET": env_preset} if env_preset else {})}
    result = run_caprec(["record", "--source", "test", "-d", "1", "-o", "p.mp4", *args], cwd=tmp_path, env=env)
    assert result.returncode == 2, result.stderr
    line = _one_error_line(result.stderr)
    assert line.startswith(f"error: {culprit}: "), line
    assert all(name in line for name in X264_PRESETS), line
    assert list(tmp_path.iterdir()) == []


def test_encoder_presets_are_cached_per_binary(tmp_path: Path) -> None:
    binary = find_ffmpeg()
    if "h264_nvenc" not in binary.encoders:
        pytest.skip("this ffmpeg has no h264_nvenc")
    cache = ProbeCache(tmp_path / "cache")
    calls: list[list[str]] = []

    def counting(argv: list[str], *, timeout: float) -> object:
        calls.append(argv)
        from caprec.capture.ffmpeg.process import run_tool
        return run_tool(argv, timeout=timeout)

    first = encoder_presets(binary.path, "h264_nvenc", cache=cache, runner=counting)  # type: ignore[arg-type]
    again = encoder_presets(binary.path, "h264_nvenc", cache=cache, runner=counting)  # type: ignore[arg-type]
    assert "p4" in first
    assert first == again
    assert len(calls) == 1


def test_a_hardware_encoder_without_its_hardware_names_the_missing_library(
        run_caprec: RunCaprec, tmp_path: Path) -> None:
    if "h264_nvenc" not in find_ffmpeg().encoders or _has_working("h264_nvenc"):
        pytest.skip("needs an ffmpeg with h264_nvenc and no NVIDIA GPU")
    result = run_caprec(["record", "--source", "test", "-d", "1", "--codec", "h264_nvenc", "-o", "n.mp4"],
                        cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    line = _one_error_line(result.stderr)
    assert line.startswith("error: --codec: "), line
    assert "libcuda" in line, line
    assert "capture device" not in line


def test_the_engine_blames_the_encoder_not_the_device(tmp_path: Path) -> None:
    binary = find_ffmpeg()
    if "h264_nvenc" not in binary.encoders or _has_working("h264_nvenc"):
        pytest.skip("needs an ffmpeg with h264_nvenc and no NVIDIA GPU")
    with pytest.raises(DeviceError) as caught:
        Recorder(binary).record(VideoSource(Backend.LAVFI, device="320x240"), Encoding(codec="h264_nvenc", duration=1),
                                Target(path=tmp_path / "n.mp4"))
    assert "libcuda" in str(caught.value)
    assert "Error initializing output stream" not in str(caught.value)


def test_an_audio_input_that_fails_is_named(tmp_path: Path) -> None:
    if shutil.which("pactl") and subprocess.run(["pactl", "info"], capture_output=True, check=False).returncode == 0:
        pytest.skip("a PulseAudio server answers here")
    binary = find_ffmpeg()
    with pytest.raises(DeviceError) as caught:
        Recorder(binary).record(VideoSource(Backend.LAVFI, device="320x240"), Encoding(duration=1),
                                Target(path=tmp_path / "a.mp4"), audio=AudioSource(AudioBackend.PULSE, "default"))
    message = str(caught.value)
    assert message.startswith("the audio input pulse:default failed: "), message
    assert "--audio" not in message  # the engine names fields, not flags
    assert not (tmp_path / "a.mp4").exists()
