"""Several audio inputs: mic and desktop, mixed (levels kept) or one track each, checked by FFT.

A real PulseAudio server runs for the whole session (one per session, private runtime directory and socket):
a null sink ``speakers`` is the desktop's output, and ``mic`` is a source remapped from a second null sink's
monitor (a virtual microphone). FFmpeg plays 440 Hz into the speakers and 880 Hz into the microphone.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from caprec.capture.errors import SettingError
from caprec.capture.ffmpeg.argv import (
    AudioBackend,
    AudioMix,
    AudioSource,
    AudioTracks,
    Backend,
    Encoding,
    VideoSource,
    build_record_argv,
)
from caprec.capture.ffmpeg.process import ToolResult
from caprec.capture.files.mp4boxes import read_layout
from caprec.capture.platform.audio_inputs import parse_audio_inputs, split_audio
from caprec.capture.platform.pulse import DEFAULT_MONITOR, DEFAULT_SOURCE, Pactl, check_sources, parse_info, parse_short
from support.mp4 import complete_fragments
from support.polling import wait_until
from support.process import children_of, process_gone
from support.pulse import SAMPLE_RATE, Pulse
from support.run import RunCaprec, SpawnCaprec

FF = "/usr/bin/ffmpeg"
DESKTOP_HZ, MIC_HZ = 440, 880
RECORD_S = "3"
KILL_AFTER_TIMEOUT_S = 30.0


# -- names --------------------------------------------------------------------

def test_mic_and_desktop_are_the_defaults_of_the_sound_server() -> None:
    audio = parse_audio_inputs(["mic", "desktop"], platform="linux", origin="--audio")
    assert audio == AudioMix((AudioSource(AudioBackend.PULSE, DEFAULT_SOURCE, label="mic"),
                              AudioSource(AudioBackend.PULSE, DEFAULT_MONITOR, label="desktop")))
    assert parse_audio_inputs(["mic,desktop"], platform="linux", origin="--audio") == audio
    assert parse_audio_inputs(["mic"], platform="darwin", origin="--audio") == AudioSource(AudioBackend.AVFOUNDATION)


def test_alsa_names_keep_their_comma() -> None:
    assert split_audio(["alsa:hw:0,0,mic", "test"]) == ["alsa:hw:0,0", "mic", "test"]


@pytest.mark.parametrize(("platform", "names", "message"), [
    ("linux", ["mic,,desktop"], "--audio: has an empty item"),
    ("linux", ["mic", "MIC"], "--audio: 'MIC' is given twice"),
    ("darwin", ["desktop"], "--audio: desktop: macOS gives FFmpeg no system sound; install a loopback device"),
    ("win32", ["mic"], "--audio: mic: DirectShow has no default microphone; give its name"),
    ("win32", ["desktop"], "--audio: desktop: DirectShow has no system sound input"),
])
def test_bad_audio_lists(platform: str, names: list[str], message: str) -> None:
    with pytest.raises(SettingError) as caught:
        parse_audio_inputs(names, platform=platform, origin="--audio")
    assert str(caught.value).startswith(message)


def test_mixed_argv_sums_the_inputs_with_their_levels_kept() -> None:
    audio = AudioMix((AudioSource(AudioBackend.PULSE, DEFAULT_SOURCE, label="mic"),
                      AudioSource(AudioBackend.PULSE, DEFAULT_MONITOR, label="desktop")))
    argv = build_record_argv(VideoSource(Backend.LAVFI), Encoding(), ffmpeg_path=FF, audio=audio)
    assert argv[6:15] == ["-f", "pulse", "-i", DEFAULT_SOURCE, "-f", "pulse", "-i", DEFAULT_MONITOR,
                          "-filter_complex"]
    assert argv[15] == "[1][2]amix=duration=longest:inputs=2:normalize=0[s0]"
    assert argv[16:20] == ["-map", "0", "-map", "[s0]"]


def test_separate_argv_names_each_track() -> None:
    audio = AudioMix((AudioSource(AudioBackend.TEST, label="test"),
                      AudioSource(AudioBackend.DSHOW, "Mic", label="Mic")), AudioTracks.SEPARATE)
    argv = build_record_argv(VideoSource(Backend.LAVFI), Encoding(), ffmpeg_path=FF, audio=audio)
    assert "amix" not in " ".join(argv)
    assert argv[argv.index("-map"):argv.index("-map") + 6] == ["-map", "0", "-map", "1", "-map", "2"]
    assert argv[argv.index("-metadata:s:a:0"):][:2] == ["-metadata:s:a:0", "handler_name=test"]
    assert argv[argv.index("-metadata:s:a:1"):][:2] == ["-metadata:s:a:1", "handler_name=Mic"]


# -- pactl ----------------------------------------------------------------------

PACTL_INFO = """Server String: /run/user/1000/pulse/native
Server Name: PulseAudio (on PipeWire 1.0.5)
Server Version: 15.0.0
Default Sink: alsa_output.pci.analog-stereo
Default Source: alsa_input.pci.analog-stereo
"""
PACTL_SOURCES = ("1\talsa_output.pci.analog-stereo.monitor\tPipeWire\ts32le 2ch 48000Hz\tSUSPENDED\n"
                 "2\talsa_input.pci.analog-stereo\tPipeWire\ts32le 2ch 48000Hz\tRUNNING\n")


class FakeRunner:
    def __init__(self, answers: dict[tuple[str, ...], ToolResult]) -> None:
        self.answers = answers

    def __call__(self, argv: list[str], *, timeout: float) -> ToolResult:
        return self.answers[tuple(argv[1:])]


def fake_pactl(answers: dict[tuple[str, ...], ToolResult]) -> Pactl:
    return Pactl(runner=FakeRunner(answers), which=lambda name: "/usr/bin/pactl")


def test_pactl_info_and_sources_parse() -> None:
    server = parse_info(PACTL_INFO)
    assert (server.name, server.default_sink) == ("PulseAudio (on PipeWire 1.0.5)", "alsa_output.pci.analog-stereo")
    assert [(d.name, d.kind) for d in parse_short(PACTL_SOURCES, sinks=False)] == [
        ("alsa_output.pci.analog-stereo.monitor", "monitor"), ("alsa_input.pci.analog-stereo", "mic")]


def test_unknown_source_and_missing_server_are_named() -> None:
    ok = {("list", "short", "sources"): ToolResult(0, PACTL_SOURCES.encode(), b""),
          ("list", "short", "sinks"): ToolResult(0, b"0\talsa_output.pci.analog-stereo\tPipeWire\n", b""),
          ("info",): ToolResult(0, PACTL_INFO.encode(), b"")}
    check_sources(["alsa_output.pci.analog-stereo"], origin="--audio", pactl=fake_pactl(ok))  # a sink: its monitor
    check_sources([DEFAULT_SOURCE, DEFAULT_MONITOR, "alsa_input.pci.analog-stereo"], origin="--audio",
                  pactl=fake_pactl(ok))
    with pytest.raises(SettingError, match=r"^--audio: no audio source 'usb-mic' on the sound server; sources here: "
                                           r"alsa_output.pci.analog-stereo.monitor, alsa_input.pci.analog-stereo, "
                                           r"alsa_output.pci.analog-stereo$"):
        check_sources(["usb-mic"], origin="--audio", pactl=fake_pactl(ok))
    down = {("list", "short", "sources"): ToolResult(1, b"", b"Connection failure: Connection refused\n")}
    with pytest.raises(SettingError, match=r"^CAPREC_AUDIO: no sound server answers \(Connection failure: "
                                           r"Connection refused\); start PulseAudio or PipeWire"):
        check_sources([DEFAULT_SOURCE], origin="CAPREC_AUDIO", pactl=fake_pactl(down))
    check_sources(["anything"], origin="--audio", pactl=Pactl(which=lambda name: None))  # no pactl: FFmpeg tells


# -- a real PulseAudio server ------------------------------------------------------

@pytest.fixture(scope="module")
def tones(pulse: Pulse) -> Iterator[Pulse]:
    """440 Hz playing on the desktop, 880 Hz into the microphone, for the module's recordings."""
    players = [pulse.play(DESKTOP_HZ, "speakers"), pulse.play(MIC_HZ, "micsink")]
    try:
        yield pulse
    finally:
        for player in players:
            player.kill()
            player.wait()


def spectrum(path: Path, track: int) -> tuple[float, float]:
    """The amplitudes at 440 Hz and 880 Hz of audio track ``track``, skipping its first second."""
    raw = subprocess.run([FF, "-v", "error", "-i", str(path), "-map", f"0:a:{track}", "-ss", "1", "-ac", "1",
                          "-ar", str(SAMPLE_RATE), "-f", "f32le", "-"], capture_output=True, check=True,
                         timeout=60).stdout
    samples = np.frombuffer(raw, np.float32)
    assert len(samples) > SAMPLE_RATE // 2, f"track {track} holds {len(samples)} samples"
    amplitudes = np.abs(np.fft.rfft(samples * np.hanning(len(samples)))) / len(samples)
    freqs = np.fft.rfftfreq(len(samples), 1 / SAMPLE_RATE)

    def at(hz: int) -> float:
        band = (freqs > hz - 10) & (freqs < hz + 10)
        return float(amplitudes[band].max())

    return at(DESKTOP_HZ), at(MIC_HZ)


def audio_tracks(path: Path) -> list[dict[str, str]]:
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "a", "-show_entries",
                          "stream=index,codec_name:stream_tags=handler_name", "-of", "json", str(path)],
                         capture_output=True, text=True, check=True, timeout=30).stdout
    return list(json.loads(out)["streams"])


@pytest.fixture
def pulse_env(caprec_env: dict[str, str], tones: Pulse) -> dict[str, str]:
    return {**caprec_env, **tones.env}


def test_mic_and_desktop_mix_into_one_track_holding_both_tones_at_their_levels(
        pulse_env: dict[str, str], run_caprec: RunCaprec, tmp_path: Path) -> None:
    mixed, separate = tmp_path / "mixed.mp4", tmp_path / "separate.mp4"
    for out, extra in ((mixed, []), (separate, ["--audio-tracks", "separate"])):
        result = run_caprec(["record", "--source", "test", "--audio", "mic", "--audio", "desktop", *extra,
                             "-d", RECORD_S, "-q", "-o", str(out)], cwd=tmp_path, env=pulse_env)
        assert result.returncode == 0, result.stderr
    assert len(audio_tracks(mixed)) == 1
    desktop_level, mic_level = spectrum(mixed, 0)
    assert desktop_level > 0.01 and mic_level > 0.01, (desktop_level, mic_level)  # lavfi sine: 1/8 full scale
    tracks = audio_tracks(separate)
    assert [t.get("tags", {}).get("handler_name") for t in tracks] == ["mic", "desktop"]
    mic_440, mic_880 = spectrum(separate, 0)
    desk_440, desk_880 = spectrum(separate, 1)
    assert mic_880 > 20 * mic_440 and desk_440 > 20 * desk_880, (mic_440, mic_880, desk_440, desk_880)
    # normalize=0: each tone keeps its level in the mix (amix would otherwise halve both).
    assert 0.8 < desktop_level / desk_440 < 1.25 and 0.8 < mic_level / mic_880 < 1.25


def one_tone_each(mic: Path, desktop: Path) -> None:
    """``mic`` holds the microphone's 880 Hz alone, ``desktop`` the desktop's 440 Hz alone."""
    assert len(audio_tracks(mic)) == 1 and len(audio_tracks(desktop)) == 1
    mic_440, mic_880 = spectrum(mic, 0)
    desk_440, desk_880 = spectrum(desktop, 0)
    assert mic_880 > 20 * mic_440 and desk_440 > 20 * desk_880, (mic_440, mic_880, desk_440, desk_880)


def test_a_studio_bundle_keeps_each_input_in_its_own_file_and_render_mixes_them(
        pulse_env: dict[str, str], run_caprec: RunCaprec, tmp_path: Path) -> None:
    result = run_caprec(["record", "--source", "test", "--mode", "studio", "--audio", "mic", "--audio", "desktop",
                         "-d", RECORD_S, "-q", "-o", str(tmp_path / "take")], cwd=tmp_path, env=pulse_env)
    assert result.returncode == 0, result.stderr
    bundle = tmp_path / "take.caprec"
    segment = bundle / "segments" / "1"
    assert sorted(p.name for p in segment.iterdir()) == ["audio-desktop.m4a", "audio-mic.m4a", "display.mp4"]
    one_tone_each(segment / "audio-mic.m4a", segment / "audio-desktop.m4a")
    for name in ("audio-mic.m4a", "audio-desktop.m4a"):
        boxes = read_layout(segment / name)
        assert boxes.finished, boxes  # rewritten with its index first at the clean stop
    manifest = tomllib.loads((bundle / "recording.toml").read_text())
    assert (manifest["version"], manifest["minor_version"]) == (1, 1)
    assert manifest["audio"] == f"pulse:{DEFAULT_SOURCE} + pulse:{DEFAULT_MONITOR} (separate)"
    assert manifest["audio_inputs"] == ["mic", "desktop"]
    assert manifest["segments"][0]["audio_tracks"] == [
        {"input": "mic", "file": "segments/1/audio-mic.m4a"},
        {"input": "desktop", "file": "segments/1/audio-desktop.m4a"}]
    assert "audio" not in manifest["segments"][0]

    rendered = tmp_path / "render.mp4"
    result = run_caprec(["render", str(bundle), "-o", str(rendered), "-q"], cwd=tmp_path, env=pulse_env)
    assert result.returncode == 0, result.stderr
    assert len(audio_tracks(rendered)) == 1
    desktop_level, mic_level = spectrum(rendered, 0)
    desk_440, _ = spectrum(segment / "audio-desktop.m4a", 0)
    _, mic_880 = spectrum(segment / "audio-mic.m4a", 0)
    # amix normalize=0: each input keeps its level in the render's mix.
    assert 0.8 < desktop_level / desk_440 < 1.25 and 0.8 < mic_level / mic_880 < 1.25, \
        (desktop_level, desk_440, mic_level, mic_880)


@pytest.mark.slow
def test_kill_9_then_recover_keeps_every_input_file(pulse_env: dict[str, str], spawn_caprec: SpawnCaprec,
                                                      run_caprec: RunCaprec, tmp_path: Path) -> None:
    bundle = tmp_path / "killed.caprec"
    segment = bundle / "segments" / "1"
    caprec = spawn_caprec(["record", "--source", "test", "--mode", "studio", "--audio", "mic,desktop", "-q",
                           "-o", str(bundle)], cwd=tmp_path, env=pulse_env)
    files = [segment / "display.mp4", segment / "audio-mic.m4a", segment / "audio-desktop.m4a"]
    wait_until(lambda: all(complete_fragments(f) >= 3 for f in files), KILL_AFTER_TIMEOUT_S,
               message="three whole fragments in every file")
    # A power cut: caprec and its ffmpeg die at once, nothing finishes a file.
    ffmpegs = children_of(caprec.pid)
    assert ffmpegs
    for pid in [*ffmpegs, caprec.pid]:
        os.kill(pid, signal.SIGKILL)
    assert caprec.wait(KILL_AFTER_TIMEOUT_S) == -signal.SIGKILL
    wait_until(lambda: all(process_gone(pid) for pid in ffmpegs), KILL_AFTER_TIMEOUT_S, message="ffmpeg gone")
    assert all(read_layout(f).fragmented for f in files)

    result = run_caprec(["recover", str(bundle), "--json"], cwd=tmp_path, env=pulse_env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["status"] == "recovered"
    assert all(read_layout(f).finished for f in files)
    manifest = tomllib.loads((bundle / "recording.toml").read_text())
    assert manifest["status"] == "complete"
    assert [t["input"] for t in manifest["segments"][0]["audio_tracks"]] == ["mic", "desktop"]
    one_tone_each(segment / "audio-mic.m4a", segment / "audio-desktop.m4a")


@pytest.mark.parametrize(("audio", "message"), [
    ("mic,no-such-source", "error: --audio: no audio source 'no-such-source' on the sound server; sources here: "),
])
def test_an_audio_source_that_does_not_exist_is_one_line_exit_2(audio: str, message: str, pulse_env: dict[str, str],
                                                                 run_caprec: RunCaprec, tmp_path: Path) -> None:
    result = run_caprec(["record", "--source", "test", "--audio", audio, "-d", "1", "-o", str(tmp_path / "x.mp4")],
                        cwd=tmp_path, env=pulse_env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message) and "speakers.monitor" in lines[0], lines
    assert list(tmp_path.iterdir()) == []


def test_no_sound_server_is_named_by_record_and_doctor(caprec_env: dict[str, str], run_caprec: RunCaprec,
                                                       tmp_path: Path) -> None:
    if shutil.which("pactl") is None:
        pytest.skip("pactl is not installed")
    env = {**caprec_env, "PULSE_SERVER": f"unix:{tmp_path / 'nobody-listens'}"}
    result = run_caprec(["record", "--source", "test", "--audio", "mic", "-d", "1", "-o", str(tmp_path / "x.mp4")],
                        cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert result.stderr.startswith("error: --audio: no sound server answers (")
    assert not (tmp_path / "x.mp4").exists()
    doctor = run_caprec(["doctor", "--json"], cwd=tmp_path, env=env)
    checks = {check["name"]: check for check in json.loads(doctor.stdout)["checks"]}
    assert checks["sound server"]["status"] == "warn"
    assert checks["sound server"]["detail"].startswith("no PulseAudio/PipeWire server answers")


def test_devices_and_doctor_see_the_sound_server(pulse_env: dict[str, str], run_caprec: RunCaprec,
                                                 tmp_path: Path) -> None:
    devices = json.loads(run_caprec(["devices", "--json"], cwd=tmp_path, env=pulse_env).stdout)
    pulse = {d["id"]: d["name"] for d in devices if d["backend"] == "pulse"}
    assert pulse["speakers.monitor"].startswith("what the output plays (monitor)")
    assert pulse["mic"].startswith("input")
    assert pulse["speakers"].startswith("output (sink), default: desktop records its monitor")
    doctor = run_caprec(["doctor", "--json"], cwd=tmp_path, env=pulse_env)
    checks = {check["name"]: check for check in json.loads(doctor.stdout)["checks"]}
    assert checks["sound server"]["status"] == "pass"
    assert "default output speakers" in checks["sound server"]["detail"]
