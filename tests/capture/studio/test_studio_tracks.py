"""A studio bundle's tracks beside the screen: one audio file per input, the camera, their names and manifest.

Real ffmpeg for the camera (``--camera test`` is lavfi's testsrc) and for
kill -9 + recover; the argv of real cameras (v4l2, avfoundation, dshow) is
asserted exactly, as those devices do not exist here. The PulseAudio tests
(two inputs, one file each, FFT) are in ``tests/capture/platform/test_audio_inputs.py``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tomllib
from pathlib import Path

import numpy as np
import pytest
from caprec.capture.ffmpeg.argv import (
    AudioBackend,
    AudioMix,
    AudioSource,
    AudioTracks,
    Backend,
    CameraBackend,
    CameraSource,
    Encoding,
    TrackFiles,
    VideoSource,
    build_record_argv,
)
from caprec.capture.files.mp4boxes import read_layout
from caprec.capture.studio.manifest import ManifestError, segment_audio
from caprec.capture.studio.tracks import input_names, segment_layout, slug
from support.media import ffprobe
from support.mp4 import complete_fragments
from support.polling import wait_until
from support.process import children_of, process_gone
from support.run import RunCaprec, SpawnCaprec

FF = "/usr/bin/ffmpeg"
FPS = 10
SECONDS = 2
CAMERA = ["--camera", "test", "--camera-size", "160", "--camera-position", "top-left"]
KILL_TIMEOUT_S = 30.0


# -- names ---------------------------------------------------------------------------

def test_each_input_is_named_by_its_kind_or_a_safe_slug_of_its_device() -> None:
    audio = AudioMix((AudioSource(AudioBackend.PULSE, "@DEFAULT_SOURCE@", label="mic"),
                      AudioSource(AudioBackend.ALSA, "hw:0,0", label="alsa:hw:0,0"),
                      AudioSource(AudioBackend.DSHOW, "Mic (USB)", label="Mic (USB)"),
                      AudioSource(AudioBackend.DSHOW, "mic usb", label="mic usb"),
                      AudioSource(AudioBackend.TEST, label="")), AudioTracks.SEPARATE)
    assert input_names(audio) == ("mic", "alsa-hw-0-0", "mic-usb", "mic-usb-2", "test")
    assert slug("../../etc", fallback="x") == "etc" and slug("::", fallback="input-3") == "input-3"
    several = segment_layout(Path("/b/segments/1"), audio=audio, camera=True)
    assert [p.name for p in several.tracks.audio] == ["audio-mic.m4a", "audio-alsa-hw-0-0.m4a",
                                                      "audio-mic-usb.m4a", "audio-mic-usb-2.m4a", "audio-test.m4a"]
    assert several.tracks.camera == Path("/b/segments/1/camera.mp4")
    one = segment_layout(Path("/b/segments/1"), audio=AudioSource(AudioBackend.TEST), camera=False)
    assert one.tracks == TrackFiles(audio=(Path("/b/segments/1/audio.m4a"),)) and one.inputs == ("test",)


def test_the_manifest_lists_audio_files_in_both_formats() -> None:
    assert segment_audio({"audio": "segments/1/audio.m4a"}, where="m") == [("audio", "segments/1/audio.m4a")]
    tracks = [{"input": "mic", "file": "segments/1/audio-mic.m4a"}, {"file": "segments/1/audio-x.m4a"}]
    assert segment_audio({"audio_tracks": tracks}, where="m") == [("mic", "segments/1/audio-mic.m4a"),
                                                                  ("input-2", "segments/1/audio-x.m4a")]
    assert segment_audio({}, where="m") == []
    with pytest.raises(ManifestError, match=r"^m: every audio_tracks entry needs a 'file' string$"):
        segment_audio({"audio_tracks": [{"input": "mic"}]}, where="m")


# -- argv --------------------------------------------------------------------------------

def _studio_argv(camera: CameraSource, *, audio: AudioMix | None = None) -> list[str]:
    directory = Path("/b/segments/1")
    layout = segment_layout(directory, audio=audio, camera=True)
    return build_record_argv(VideoSource(Backend.LAVFI, camera=camera), Encoding(duration=2), ffmpeg_path=FF,
                             audio=audio, tracks=layout.tracks)


@pytest.mark.parametrize(("camera", "inputs"), [
    (CameraSource(CameraBackend.V4L2, "/dev/video2"), ["-f", "v4l2", "-framerate", "30", "-i", "/dev/video2"]),
    (CameraSource(CameraBackend.AVFOUNDATION, "0"), ["-f", "avfoundation", "-framerate", "30", "-i", "0:none"]),
    (CameraSource(CameraBackend.DSHOW, "HD Webcam"), ["-f", "dshow", "-i", "video=HD Webcam"]),
])
def test_a_studio_camera_is_its_own_output_at_its_own_size(camera: CameraSource, inputs: list[str]) -> None:
    argv = _studio_argv(camera)
    screen = ["-f", "lavfi", "-re", "-i", "testsrc2=size=1280x720:rate=30"]
    assert argv[1:1 + len(screen) + len(inputs)] == [*screen, *inputs]
    rest = argv[1 + len(screen) + len(inputs):]
    assert rest[:2] == ["-filter_complex", "[1]crop=trunc(iw/2)*2:trunc(ih/2)*2[s0]"]  # no scale, no overlay
    assert "overlay" not in " ".join(argv) and "scale" not in " ".join(argv)
    screen_out = rest[2:rest.index("pipe:1") + 1]
    # The screen maps its own input only (a camera larger than the screen would be FFmpeg's pick).
    assert screen_out[screen_out.index("-map") + 1] == "0:v"
    camera_out = rest[rest.index("pipe:1") + 1:rest.index("-hide_banner")]
    assert camera_out[:2] == ["-map", "[s0]"] and camera_out[-1] == "/b/segments/1/camera.mp4"
    assert camera_out[camera_out.index("-c:v") + 1] == "libx264" and camera_out[camera_out.index("-t") + 1] == "2"
    assert camera_out[camera_out.index("-movflags") + 1] == "+frag_keyframe+empty_moov+default_base_moof"


def test_each_audio_input_is_its_own_fragmented_output() -> None:
    audio = AudioMix((AudioSource(AudioBackend.PULSE, "@DEFAULT_SOURCE@", label="mic"),
                      AudioSource(AudioBackend.PULSE, "@DEFAULT_MONITOR@", label="desktop")))
    layout = segment_layout(Path("/b/segments/1"), audio=audio, camera=False)
    argv = build_record_argv(VideoSource(Backend.LAVFI), Encoding(), ffmpeg_path=FF, audio=audio,
                             tracks=layout.tracks)
    assert "amix" not in " ".join(argv)  # a studio bundle never mixes: even an AudioMix set to mix
    video = argv[:argv.index("pipe:1") + 1]
    assert "-an" in video and "-map" not in video
    mic = argv[argv.index("pipe:1") + 1:argv.index("/b/segments/1/audio-mic.m4a") + 1]
    desktop = argv[len(video) + len(mic):argv.index("/b/segments/1/audio-desktop.m4a") + 1]
    for output, number in ((mic, "1"), (desktop, "2")):
        assert output[:2] == ["-map", number]
        assert output[output.index("-frag_duration") + 1] == "1000000"
        assert output[output.index("-flush_packets") + 1] == "1"


# -- real recordings ---------------------------------------------------------------------

def _record_studio(run_caprec: RunCaprec, tmp_path: Path, *extra: str) -> Path:
    bundle = tmp_path / "cam.caprec"
    result = run_caprec(["record", "--source", "test", "--mode", "studio", "--fps", str(FPS), "-d", str(SECONDS),
                         *CAMERA, *extra, "-q", "-o", str(bundle)], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return bundle


def test_camera_test_in_studio_records_a_camera_track_and_render_draws_it(run_caprec: RunCaprec,
                                                                         tmp_path: Path) -> None:
    bundle = _record_studio(run_caprec, tmp_path)
    screen, camera = ffprobe(bundle / "segments/1/display.mp4"), ffprobe(bundle / "segments/1/camera.mp4")
    assert (camera.width, camera.height, camera.codec) == (640, 480, "h264")  # its own size, not 160 wide
    assert camera.frames == screen.frames == SECONDS * FPS
    assert abs(camera.duration - screen.duration) < 1.5 / FPS
    assert read_layout(bundle / "segments/1/camera.mp4").finished
    manifest = tomllib.loads((bundle / "recording.toml").read_text())
    assert manifest["camera"] == {"source": "test", "corner": "top-left", "width": 160}
    assert manifest["segments"][0]["camera"] == "segments/1/camera.mp4"

    rendered = tmp_path / "render.mp4"
    result = run_caprec(["render", str(bundle), "-o", str(rendered), "--width", "640", "-q"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = ffprobe(rendered)
    assert (out.width, out.height, out.frames) == (640, 360, SECONDS * FPS)
    frame = _frame(rendered, 640, 360)
    # The camera, 160 px at 1280 wide, is 80 px at 640, 8 px from the top-left corner: testsrc, not testsrc2.
    drawn = frame[8:8 + 60, 8:8 + 80]
    reference = _frame(bundle / "segments/1/camera.mp4", 640, 480, scale="80:60")
    assert np.abs(drawn.astype(int) - reference[:60, :80].astype(int)).mean() < 20
    assert np.abs(frame[100:160, 8:88].astype(int) - reference[:60, :80].astype(int)).mean() > 20


def _frame(path: Path, width: int, height: int, *, scale: str | None = None) -> np.ndarray:
    """The first frame of ``path`` as RGB (scaled to ``scale`` when given)."""
    filters = [] if scale is None else ["-vf", f"scale={scale}"]
    if scale is not None:
        width, height = (int(v) for v in scale.split(":"))
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), *filters, "-frames:v", "1", "-f", "rawvideo",
                          "-pix_fmt", "rgb24", "-"], capture_output=True, check=True, timeout=60).stdout
    return np.frombuffer(raw, np.uint8).reshape(height, width, 3)


@pytest.mark.slow
def test_kill_9_then_recover_finishes_the_camera_track(spawn_caprec: SpawnCaprec, run_caprec: RunCaprec,
                                                       tmp_path: Path) -> None:
    bundle = tmp_path / "killed.caprec"
    caprec = spawn_caprec(["record", "--source", "test", "--mode", "studio", "--fps", "30", *CAMERA,
                           "--audio", "test", "-q", "-o", str(bundle)], cwd=tmp_path)
    files = [bundle / "segments/1" / name for name in ("display.mp4", "camera.mp4", "audio.m4a")]
    wait_until(lambda: all(complete_fragments(f) >= 2 for f in files), KILL_TIMEOUT_S,
               message="two whole fragments in every file")
    ffmpegs = children_of(caprec.pid)
    for pid in [*ffmpegs, caprec.pid]:
        os.kill(pid, signal.SIGKILL)
    caprec.wait(KILL_TIMEOUT_S)
    wait_until(lambda: all(process_gone(pid) for pid in ffmpegs), KILL_TIMEOUT_S, message="ffmpeg gone")
    before = ffprobe(files[1]).frames
    result = run_caprec(["recover", str(bundle), "--json"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["status"] == "recovered"
    assert all(read_layout(f).finished for f in files)
    assert before - 1 <= ffprobe(files[1]).frames <= before
    manifest = tomllib.loads((bundle / "recording.toml").read_text())
    assert manifest["segments"][0]["camera"] == "segments/1/camera.mp4"
    assert manifest["segments"][0]["audio"] == "segments/1/audio.m4a"


def test_a_studio_dry_run_names_every_track_file(run_caprec: RunCaprec, tmp_path: Path) -> None:
    result = run_caprec(["record", "--source", "test", "--mode", "studio", *CAMERA, "--audio", "test", "-o", "take",
                         "--dry-run"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    segment = tmp_path.resolve() / "take.caprec" / "segments" / "1"
    assert f"# audio -> {segment / 'audio.m4a'}" in lines and f"# camera -> {segment / 'camera.mp4'}" in lines
    assert f"file:{segment / 'camera.mp4'}" in lines[0] and "overlay" not in lines[0]
    assert list(tmp_path.iterdir()) == []  # a dry run creates nothing
