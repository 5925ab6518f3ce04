"""Device listing: parsers on real-looking tool output, runners with fakes, X screens on a real Xvfb."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from caprec.capture.errors import DeviceError, DisplayError
from caprec.capture.ffmpeg.process import ToolResult
from caprec.capture.platform.devices import list_devices, needs_ffmpeg, parse_ffmpeg_devices
from caprec.capture.platform.devices_linux import (
    XMonitor,
    XScreen,
    display_base,
    parse_alsa_pcm,
    parse_pactl_sources,
    read_x_screens,
    x11_devices,
)
from caprec.capture.platform.devices_macos import list_avfoundation, parse_avfoundation
from caprec.capture.platform.devices_windows import list_dshow, parse_dshow
from caprec.capture.platform.displays import DisplayInfo
from caprec.capture.platform.listing import LIST_TIMEOUT_S, Device, DeviceKind
from caprec.commands.devices import device_name
from support.run import RunCaprec
from support.xserver import XServer, start_xvfb

AVFOUNDATION_FFMPEG6 = """\
[AVFoundation indev @ 0x7fb2d3f04a40] AVFoundation video devices:
[AVFoundation indev @ 0x7fb2d3f04a40] [0] FaceTime HD Camera
[AVFoundation indev @ 0x7fb2d3f04a40] [1] OBS Virtual Camera
[AVFoundation indev @ 0x7fb2d3f04a40] [2] Capture screen 0
[AVFoundation indev @ 0x7fb2d3f04a40] [3] Capture screen 1
[AVFoundation indev @ 0x7fb2d3f04a40] AVFoundation audio devices:
[AVFoundation indev @ 0x7fb2d3f04a40] [0] MacBook Pro Microphone
[AVFoundation indev @ 0x7fb2d3f04a40] [1] BlackHole 2ch
[in#0 @ 0x7fb2d3f04780] Error opening input: Input/output error
Error opening input file .
Error opening input files: Input/output error
"""

AVFOUNDATION_FFMPEG4 = """\
[AVFoundation input device @ 0x7f8e2b604080] AVFoundation video devices:
[AVFoundation input device @ 0x7f8e2b604080] [0] FaceTime HD Camera (Built-in)
[AVFoundation input device @ 0x7f8e2b604080] [1] Capture screen 0
[AVFoundation input device @ 0x7f8e2b604080] AVFoundation audio devices:
[AVFoundation input device @ 0x7f8e2b604080] [0] Built-in Microphone
: Input/output error
"""

DSHOW_OLD = """\
[dshow @ 00000000001c23c0] DirectShow video devices (some may be both video and audio devices)
[dshow @ 00000000001c23c0]  "Integrated Webcam"
[dshow @ 00000000001c23c0]     Alternative name "@device_pnp_\\\\?\\usb#vid_0c45&pid_6448&mi_00#7&2645f9e4&0&0000#{65e8773d-8f56-11d0-a3b9-00a0c9223196}\\global"
[dshow @ 00000000001c23c0]  "screen-capture-recorder"
[dshow @ 00000000001c23c0]     Alternative name "@device_sw_{860BB310-5D01-11D0-BD3B-00A0C911CE86}\\{4EA69364-2C8A-4AE6-A561-56E4B5044439}"
[dshow @ 00000000001c23c0] DirectShow audio devices
[dshow @ 00000000001c23c0]  "Microphone (High Definition Audio Device)"
[dshow @ 00000000001c23c0]     Alternative name "@device_cm_{33D9A762-90C8-11D0-BD43-00A0C911CE86}\\wave_{E26AD2BE-B335-41EC-BED5-40F982F21FF7}"
[dshow @ 00000000001c23c0]  "virtual-audio-capturer"
[dshow @ 00000000001c23c0]     Alternative name "@device_sw_{33D9A762-90C8-11D0-BD43-00A0C911CE86}\\{8E146464-DB61-4309-AFA1-3578E927E935}"
dummy: Immediate exit requested
"""  # noqa: E501 (real alternative names are long)

DSHOW_NEW = """\
[dshow @ 000001f5c8d0e6c0] "Integrated Camera" (video)
[dshow @ 000001f5c8d0e6c0]   Alternative name "@device_pnp_\\\\?\\usb#vid_04f2&pid_b6d9&mi_00#6&1c5fe8a2&0&0000#{65e8773d-8f56-11d0-a3b9-00a0c9223196}\\global"
[dshow @ 000001f5c8d0e6c0] "OBS Virtual Camera" (none)
[dshow @ 000001f5c8d0e6c0]   Alternative name "@device_sw_{860BB310-5D01-11D0-BD3B-00A0C911CE86}\\{A3FCE0F5-3493-419F-958A-ABA1250EC20B}"
[dshow @ 000001f5c8d0e6c0] "Game Capture HD60 S" (audio, video)
[dshow @ 000001f5c8d0e6c0]   Alternative name "@device_pnp_\\\\?\\usb#vid_0fd9&pid_004e&mi_00#7&1f2e3d4c&0&0000#{65e8773d-8f56-11d0-a3b9-00a0c9223196}\\global"
[dshow @ 000001f5c8d0e6c0] "Microphone Array (Realtek(R) Audio)" (audio)
[dshow @ 000001f5c8d0e6c0]   Alternative name "@device_cm_{33D9A762-90C8-11D0-BD43-00A0C911CE86}\\wave_{5A1B2C3D-0000-4E5F-8A9B-0C1D2E3F4A5B}"
[in#0 @ 000001f5c8d0e480] Error opening input: Immediate exit requested
Error opening input file dummy.
"""  # noqa: E501 (real alternative names are long)

PACTL_SOURCES = (
    "0\talsa_output.pci-0000_00_1f.3.analog-stereo.monitor\tmodule-alsa-card.c\ts16le 2ch 48000Hz\tSUSPENDED\n"
    "1\talsa_input.pci-0000_00_1f.3.analog-stereo\tmodule-alsa-card.c\ts16le 2ch 44100Hz\tRUNNING\n"
    "52\tbluez_input.00_1B_66_AA_BB_CC.0\tPipeWire\tfloat32le 1ch 16000Hz\tIDLE\n"
)

ALSA_PCM = """\
00-00: ALC3246 Analog : ALC3246 Analog : playback 1 : capture 1
00-03: HDMI 0 : HDMI 0 : playback 1
01-00: USB Audio : USB Audio : capture 1
"""

# As ffmpeg 5.1 prints it, including libcdio's empty description padded with spaces.
FFMPEG_DEVICES = (
    "Devices:\n"
    " D. = Demuxing supported\n"
    " .E = Muxing supported\n"
    " --\n"
    " DE alsa            ALSA audio output\n"
    "  E caca            caca (color ASCII art) output device\n"
    " D  lavfi           Libavfilter virtual input device\n"
    " D  libcdio          \n"
    " DE video4linux2,v4l2 Video4Linux2 output device\n"
    " D  x11grab         X11 screen capture, using XCB\n"
)


class FakeRunner:
    """Stands in for run_tool: records argv and timeout, answers from a table keyed by argv[1:]."""

    def __init__(self, answers: dict[tuple[str, ...], ToolResult | BaseException]) -> None:
        self.answers = answers
        self.calls: list[tuple[list[str], float]] = []

    def __call__(self, argv: Sequence[str], *, timeout: float) -> ToolResult:
        self.calls.append((list(argv), timeout))
        answer = self.answers[tuple(argv[1:])]
        if isinstance(answer, BaseException):
            raise answer
        return answer


AVF_ARGS = ("-hide_banner", "-f", "avfoundation", "-list_devices", "true", "-i", "")
DSHOW_ARGS = ("-hide_banner", "-list_devices", "true", "-f", "dshow", "-i", "dummy")
PACTL_ARGS = ("list", "short", "sources")


def stderr_result(text: str, returncode: int = 1) -> ToolResult:
    return ToolResult(returncode, b"", text.encode())


def no_pactl(name: str) -> str | None:
    return None


def test_avfoundation_screens_cameras_and_microphones() -> None:
    devices = parse_avfoundation(AVFOUNDATION_FFMPEG6)
    assert [(d.kind, d.id, d.name) for d in devices] == [
        (DeviceKind.VIDEO, "0", "FaceTime HD Camera"),
        (DeviceKind.VIDEO, "1", "OBS Virtual Camera"),
        (DeviceKind.SCREEN, "Capture screen 0", "Capture screen 0"),  # numbered after the cameras, named
        (DeviceKind.SCREEN, "Capture screen 1", "Capture screen 1"),
        (DeviceKind.AUDIO, "0", "MacBook Pro Microphone"),
        (DeviceKind.AUDIO, "1", "BlackHole 2ch"),
    ]
    assert {d.backend for d in devices} == {"avfoundation"}


def test_avfoundation_older_prefix() -> None:
    devices = parse_avfoundation(AVFOUNDATION_FFMPEG4)
    assert [(d.kind, d.id, d.name) for d in devices] == [
        (DeviceKind.VIDEO, "0", "FaceTime HD Camera (Built-in)"),
        (DeviceKind.SCREEN, "Capture screen 0", "Capture screen 0"),
        (DeviceKind.AUDIO, "0", "Built-in Microphone"),
    ]


def test_avfoundation_with_colour_codes() -> None:
    coloured = "\x1b[0;33m[AVFoundation indev @ 0x1] \x1b[0mAVFoundation video devices:\n" \
               "\x1b[0;33m[AVFoundation indev @ 0x1] \x1b[0m[1] Capture screen 0\n"
    assert parse_avfoundation(coloured) == [Device(DeviceKind.SCREEN, "avfoundation", "Capture screen 0",
                                                   "Capture screen 0")]


def test_dshow_old_format_with_section_headers() -> None:
    devices = parse_dshow(DSHOW_OLD)
    assert [(d.kind, d.id) for d in devices] == [
        (DeviceKind.VIDEO, "Integrated Webcam"),
        (DeviceKind.VIDEO, "screen-capture-recorder"),
        (DeviceKind.AUDIO, "Microphone (High Definition Audio Device)"),
        (DeviceKind.AUDIO, "virtual-audio-capturer"),
    ]
    assert devices[0].alternative is not None and devices[0].alternative.startswith("@device_pnp_")
    assert devices[2].alternative is not None and devices[2].alternative.startswith("@device_cm_")
    assert {d.backend for d in devices} == {"dshow"}


def test_dshow_new_format_with_types() -> None:
    devices = parse_dshow(DSHOW_NEW)
    assert [(d.kind, d.id) for d in devices] == [
        (DeviceKind.VIDEO, "Integrated Camera"),
        # "(none)" is not a capture device; "(audio, video)" is listed as both.
        (DeviceKind.VIDEO, "Game Capture HD60 S"),
        (DeviceKind.AUDIO, "Game Capture HD60 S"),
        (DeviceKind.AUDIO, "Microphone Array (Realtek(R) Audio)"),
    ]
    assert devices[1].alternative == devices[2].alternative
    assert devices[3].alternative is not None and devices[3].alternative.startswith("@device_cm_{33D9A762")


def test_pactl_sources_mark_monitors() -> None:
    devices = parse_pactl_sources(PACTL_SOURCES)
    assert [d.id for d in devices] == [
        "alsa_output.pci-0000_00_1f.3.analog-stereo.monitor",
        "alsa_input.pci-0000_00_1f.3.analog-stereo",
        "bluez_input.00_1B_66_AA_BB_CC.0",
    ]
    assert all(d.kind is DeviceKind.AUDIO and d.backend == "pulse" for d in devices)
    assert devices[0].name == "what the output plays (monitor), s16le 2ch 48000Hz, SUSPENDED"
    assert devices[1].name == "input, s16le 2ch 44100Hz, RUNNING"


def test_pactl_ignores_blank_and_malformed_lines() -> None:
    assert parse_pactl_sources("\n  \nnot-tab-separated\n") == []


def test_alsa_capture_devices_only() -> None:
    devices = parse_alsa_pcm(ALSA_PCM)
    assert [(d.id, d.name, d.backend) for d in devices] == [
        ("hw:0,0", "ALC3246 Analog", "alsa"), ("hw:1,0", "USB Audio", "alsa")]


def test_ffmpeg_devices_table() -> None:
    devices = parse_ffmpeg_devices(FFMPEG_DEVICES)
    assert devices["x11grab"] == "D"
    assert devices["alsa"] == "DE"
    assert devices["caca"] == "E"
    assert devices["v4l2"] == devices["video4linux2"] == "DE"
    assert devices["libcdio"] == "D"
    assert "=" not in devices and "Devices:" not in devices


@pytest.mark.parametrize("use_bundled", [False, True])
def test_ffmpeg_devices_of_the_real_binaries(use_bundled: bool) -> None:
    if use_bundled:
        imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
        ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    else:
        ffmpeg = shutil.which("ffmpeg")
        if ffmpeg is None:
            pytest.fail("ffmpeg is not installed (apt-get install ffmpeg)")
    result = subprocess.run([ffmpeg, "-hide_banner", "-devices"], capture_output=True, text=True, timeout=30,
                            check=True)
    devices = parse_ffmpeg_devices(result.stdout)
    assert "D" in devices["x11grab"] and "D" in devices["lavfi"]


def test_display_base() -> None:
    assert display_base(":0") == ":0"
    assert display_base(":0.1") == ":0"
    assert display_base("localhost:10.0") == "localhost:10"
    assert display_base("[::1]:3") == "[::1]:3"


def test_x11_devices_lists_screens_and_split_monitors() -> None:
    screens = [
        XScreen(0, 3840, 1080, monitors=(XMonitor("DP-1", 0, 0, 1920, 1080, primary=True),
                                         XMonitor("HDMI-1", 1920, 0, 1920, 1080))),
        XScreen(1, 1280, 720, monitors=(XMonitor("screen", 0, 0, 1280, 720),)),
    ]
    devices = x11_devices(":1.0", screens)
    assert [(d.id, d.name, d.size, d.region, d.screen) for d in devices] == [
        (":1.0", "X screen 0", (3840, 1080), None, None),
        (":1.0", "monitor DP-1 (primary)", (1920, 1080), "1920x1080+0+0", 0),
        (":1.0", "monitor HDMI-1", (1920, 1080), "1920x1080+1920+0", 1),
        (":1.1", "X screen 1", (1280, 720), None, 2),  # its only monitor is the whole screen
    ]
    # The CLI names the flag that picks each one; the engine only its number.
    assert [device_name(d) for d in devices[1:]] == [
        "monitor DP-1 (primary), --screen 0", "monitor HDMI-1, --screen 1", "X screen 1, --screen 2"]
    assert all(d.kind is DeviceKind.SCREEN and d.backend == "x11grab" for d in devices)


def test_device_json() -> None:
    device = Device(DeviceKind.SCREEN, "x11grab", ":0.0", "monitor DP-1", size=(1920, 1080), region="1920x1080+0+0")
    assert device.to_json() == {"kind": "screen", "backend": "x11grab", "id": ":0.0", "name": "monitor DP-1",
                                "width": 1920, "height": 1080, "region": "1920x1080+0+0", "alternative": None,
                                "screen": None}
    assert device.size_text == "1920x1080"
    assert Device(DeviceKind.AUDIO, "lavfi", "test", "t").size_text == ""


RETINA = DisplayInfo(x=0, y=0, width=1440, height=900, pixel_width=2880, pixel_height=1800, main=True)
SIDE = DisplayInfo(x=-1920, y=0, width=1920, height=1080, pixel_width=1920, pixel_height=1080)


def test_macos_listing_runs_ffmpeg_and_adds_the_test_tone() -> None:
    runner = FakeRunner({AVF_ARGS: stderr_result(AVFOUNDATION_FFMPEG6)})
    notes: list[str] = []
    devices = list_devices(ffmpeg_path="/opt/ffmpeg", platform="darwin", environ={}, runner=runner,
                           displays=lambda: [RETINA, SIDE], on_note=notes.append)
    assert notes == []
    assert runner.calls == [(["/opt/ffmpeg", *AVF_ARGS], LIST_TIMEOUT_S)]
    assert [(d.kind, d.id, d.size) for d in devices[:2]] == [
        (DeviceKind.SCREEN, "Capture screen 0", (2880, 1800)), (DeviceKind.SCREEN, "Capture screen 1", (1920, 1080)),
    ]
    assert [(d.kind, d.id) for d in devices] == [
        (DeviceKind.SCREEN, "Capture screen 0"), (DeviceKind.SCREEN, "Capture screen 1"),  # screens first
        (DeviceKind.VIDEO, "0"), (DeviceKind.VIDEO, "1"),
        (DeviceKind.AUDIO, "0"), (DeviceKind.AUDIO, "1"), (DeviceKind.AUDIO, "test"),
    ]
    assert devices[-1].backend == "lavfi"


def test_macos_ffmpeg_without_avfoundation_is_a_device_error() -> None:
    runner = FakeRunner({AVF_ARGS: stderr_result("Unknown input format: 'avfoundation'\n")})
    with pytest.raises(DeviceError, match="did not list avfoundation devices: Unknown input format"):
        list_avfoundation("/usr/bin/ffmpeg", runner=runner)


def test_listing_that_cannot_start_or_hangs_is_a_device_error() -> None:
    runner = FakeRunner({AVF_ARGS: FileNotFoundError(2, "No such file or directory")})
    with pytest.raises(DeviceError, match="cannot run /gone/ffmpeg: No such file or directory"):
        list_avfoundation("/gone/ffmpeg", runner=runner)
    runner = FakeRunner({DSHOW_ARGS: subprocess.TimeoutExpired("ffmpeg", LIST_TIMEOUT_S)})
    with pytest.raises(DeviceError, match="did not list the devices within"):
        list_dshow("ffmpeg.exe", runner=runner)


@pytest.mark.parametrize("text", [DSHOW_OLD, DSHOW_NEW])
def test_windows_listing_has_the_desktop_and_dshow_devices(text: str) -> None:
    runner = FakeRunner({DSHOW_ARGS: stderr_result(text)})
    devices = list_devices(ffmpeg_path="C:\\ffmpeg\\ffmpeg.exe", platform="win32", environ={}, runner=runner)
    assert runner.calls[0][0] == ["C:\\ffmpeg\\ffmpeg.exe", *DSHOW_ARGS]
    assert devices[0] == Device(DeviceKind.SCREEN, "gdigrab", "desktop", "the whole desktop (all monitors)")
    assert [d.kind for d in devices[1:]].count(DeviceKind.VIDEO) == 2
    assert devices[-1].id == "test"


def test_windows_monitors_are_desktop_regions() -> None:
    runner = FakeRunner({DSHOW_ARGS: stderr_result("dummy: Immediate exit requested\n")})
    devices = list_devices(ffmpeg_path="ffmpeg.exe", platform="win32", environ={}, runner=runner,
                           displays=lambda: [RETINA, SIDE])
    assert [(d.id, d.name, d.region) for d in devices if d.kind is DeviceKind.SCREEN] == [
        ("desktop", "the whole desktop (all monitors)", None),
        ("desktop", "monitor 0 (primary)", "2880x1800+0+0"),
        ("desktop", "monitor 1", "1920x1080-1920+0"),
    ]


def test_unknown_geometry_is_a_note_not_an_error() -> None:
    runner = FakeRunner({DSHOW_ARGS: stderr_result("dummy: Immediate exit requested\n")})
    notes: list[str] = []
    devices = list_devices(ffmpeg_path="ffmpeg.exe", platform="win32", environ={}, runner=runner,
                           on_note=notes.append)
    assert [d.id for d in devices] == ["desktop", "test"]
    assert notes == ["screen sizes unknown: EnumDisplayMonitors exists only on Windows"]


def test_windows_with_no_dshow_devices_at_all() -> None:
    runner = FakeRunner({DSHOW_ARGS: stderr_result("dummy: Immediate exit requested\n")})
    devices = list_devices(ffmpeg_path="ffmpeg.exe", platform="win32", environ={}, runner=runner)
    assert [d.id for d in devices] == ["desktop", "test"]


def test_windows_ffmpeg_without_dshow_is_a_device_error() -> None:
    runner = FakeRunner({DSHOW_ARGS: stderr_result("Unknown input format: 'dshow'\n")})
    with pytest.raises(DeviceError, match="has no DirectShow input"):
        list_dshow("ffmpeg.exe", runner=runner)


def test_only_macos_and_windows_need_ffmpeg_to_list() -> None:
    assert needs_ffmpeg("darwin") and needs_ffmpeg("win32")
    assert not needs_ffmpeg("linux") and not needs_ffmpeg("freebsd14")


def fake_screens(display: str) -> list[XScreen]:
    assert display == ":5"
    return [XScreen(0, 1920, 1080)]


def test_linux_without_display_notes_it_and_still_lists_audio(tmp_path: Path) -> None:
    notes: list[str] = []
    devices = list_devices(ffmpeg_path=None, platform="linux", environ={}, which=no_pactl,
                           alsa_pcm=tmp_path / "absent", on_note=notes.append)
    assert [d.id for d in devices] == ["test"]
    assert notes == ["no X screens listed: DISPLAY is not set"]
    notes.clear()
    list_devices(ffmpeg_path=None, platform="linux", environ={"WAYLAND_DISPLAY": "wayland-0"}, which=no_pactl,
                 alsa_pcm=tmp_path / "absent", on_note=notes.append)
    assert notes == ["no X screens listed: a Wayland session without XWayland"]


def test_linux_display_that_does_not_answer_is_a_note(tmp_path: Path) -> None:
    def refuse(display: str) -> list[XScreen]:
        raise DisplayError(f"cannot open the X display {display}")

    notes: list[str] = []
    devices = list_devices(ffmpeg_path=None, platform="linux", environ={"DISPLAY": ":9"}, which=no_pactl,
                           x_screens=refuse, alsa_pcm=tmp_path / "absent", on_note=notes.append)
    assert [d.id for d in devices] == ["test"]
    assert notes == ["no X screens listed: cannot open the X display :9"]


def test_linux_lists_screens_pulse_and_alsa(tmp_path: Path) -> None:
    pcm = tmp_path / "pcm"
    pcm.write_text(ALSA_PCM)
    runner = FakeRunner({PACTL_ARGS: ToolResult(0, PACTL_SOURCES.encode(), b""),
                         ("list", "short", "sinks"): ToolResult(0, b"0\tspeakers\tnull\ts16le 2ch\tIDLE\n", b""),
                         ("info",): ToolResult(0, b"Default Sink: speakers\n", b"")})
    devices = list_devices(ffmpeg_path=None, platform="linux", environ={"DISPLAY": ":5"}, runner=runner,
                           which=lambda name: f"/usr/bin/{name}", x_screens=fake_screens, alsa_pcm=pcm)
    assert runner.calls[0] == (["/usr/bin/pactl", *PACTL_ARGS], pytest.approx(5.0))
    assert [(d.backend, d.id) for d in devices] == [
        ("x11grab", ":5.0"),
        ("pulse", "alsa_output.pci-0000_00_1f.3.analog-stereo.monitor"),
        ("pulse", "alsa_input.pci-0000_00_1f.3.analog-stereo"),
        ("pulse", "bluez_input.00_1B_66_AA_BB_CC.0"),
        ("pulse", "speakers"),
        ("alsa", "hw:0,0"), ("alsa", "hw:1,0"),
        ("lavfi", "test"),
    ]


def test_display_argument_wins_over_the_variable(tmp_path: Path) -> None:
    devices = list_devices(ffmpeg_path=None, platform="linux", environ={"DISPLAY": ":0"}, display=":5",
                           which=no_pactl, x_screens=fake_screens, alsa_pcm=tmp_path / "absent")
    assert devices[0].id == ":5.0"


def test_pactl_without_a_server_is_a_note_not_an_error(tmp_path: Path) -> None:
    runner = FakeRunner({PACTL_ARGS: ToolResult(1, b"", b"Connection failure: Connection refused\n")})
    notes: list[str] = []
    devices = list_devices(ffmpeg_path=None, platform="linux", environ={}, runner=runner,
                           which=lambda name: "/usr/bin/pactl", alsa_pcm=tmp_path / "absent", on_note=notes.append)
    assert [d.id for d in devices] == ["test"]
    assert "no PulseAudio server (Connection failure: Connection refused)" in notes[-1]


def test_pactl_missing_is_silent(tmp_path: Path) -> None:
    runner = FakeRunner({})
    notes: list[str] = []
    list_devices(ffmpeg_path=None, platform="linux", environ={"DISPLAY": ":5"}, runner=runner, which=no_pactl,
                 x_screens=fake_screens, alsa_pcm=tmp_path / "absent", on_note=notes.append)
    assert runner.calls == [] and notes == []


# -- a real X server ----------------------------------------------------------

@pytest.fixture(scope="module")
def two_screen_xvfb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A private Xvfb with two screens (1280x720 and 800x600); yields its display."""
    log = tmp_path_factory.mktemp("xvfb-two") / "xvfb.log"
    with start_xvfb("1280x720x24", "800x600x24", log=log) as (_, display):
        yield display


@pytest.mark.x11
def test_read_x_screens_on_xvfb(xvfb: XServer) -> None:
    screens = read_x_screens(xvfb.display)
    assert [(s.number, s.width, s.height) for s in screens] == [(0, xvfb.width, xvfb.height)]
    # Xvfb has RandR 1.5: one monitor, the whole screen (so it is not listed twice).
    assert [(m.x, m.y, m.width, m.height) for m in screens[0].monitors] == [(0, 0, xvfb.width, xvfb.height)]
    devices = x11_devices(xvfb.display, screens)
    assert [(d.id, d.size) for d in devices] == [(f"{xvfb.display}.0", (xvfb.width, xvfb.height))]


@pytest.mark.x11
def test_every_screen_of_a_two_screen_display(two_screen_xvfb: str, tmp_path: Path) -> None:
    devices = list_devices(ffmpeg_path=None, platform="linux", environ={"DISPLAY": f"{two_screen_xvfb}.1"},
                           which=no_pactl, alsa_pcm=tmp_path / "absent")
    assert [(d.kind, d.id, d.size) for d in devices] == [
        (DeviceKind.SCREEN, f"{two_screen_xvfb}.0", (1280, 720)),
        (DeviceKind.SCREEN, f"{two_screen_xvfb}.1", (800, 600)),
        (DeviceKind.AUDIO, "test", None),
    ]


@pytest.mark.parametrize("display", [":5999", ":987654", "nonsense"])
def test_read_x_screens_of_a_display_that_is_not_there(display: str) -> None:
    with pytest.raises(DisplayError, match=f"cannot open the X display {display}"):
        read_x_screens(display)


@pytest.mark.x11
def test_devices_json_on_xvfb(run_caprec: RunCaprec, caprec_env: dict[str, str], xvfb: XServer,
                              tmp_path: Path) -> None:
    env = {**caprec_env, "DISPLAY": xvfb.display}
    result = run_caprec(["devices", "--json"], cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    devices = json.loads(result.stdout)
    screens = [d for d in devices if d["kind"] == "screen"]
    assert screens == [{"kind": "screen", "backend": "x11grab", "id": f"{xvfb.display}.0", "name": "X screen 0",
                        "width": xvfb.width, "height": xvfb.height, "region": None, "alternative": None,
                        "screen": None}]
    assert {"kind": "audio", "backend": "lavfi", "id": "test"}.items() <= devices[-1].items()
    assert "Traceback" not in result.stderr


@pytest.mark.x11
def test_devices_table_on_xvfb(run_caprec: RunCaprec, xvfb: XServer, tmp_path: Path) -> None:
    result = run_caprec(["devices", "--display", xvfb.display], cwd=tmp_path)  # the flag, not DISPLAY
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any("kind" in line and "backend" in line and "size" in line for line in lines)
    assert any(f"{xvfb.display}.0" in line and f"{xvfb.width}x{xvfb.height}" in line for line in lines)
    assert any("lavfi" in line and "test" in line for line in lines)


def test_devices_without_a_display_notes_it_on_stderr(run_caprec: RunCaprec, tmp_path: Path) -> None:
    result = run_caprec(["devices", "--json"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert [d["id"] for d in json.loads(result.stdout) if d["kind"] == "screen"] == []
    assert "note: no X screens listed: DISPLAY is not set" in result.stderr


def test_windows_monitors_keep_negative_offsets_in_the_table_and_the_json() -> None:
    """EnumDisplayMonitors' rectangles are relative to the primary monitor: left of it or above it is negative."""
    from caprec.commands.devices import devices_table
    from rich.console import Console

    primary = DisplayInfo(x=0, y=0, width=2560, height=1440, pixel_width=2560, pixel_height=1440, main=True)
    left = DisplayInfo(x=-1920, y=360, width=1920, height=1080, pixel_width=1920, pixel_height=1080)
    above = DisplayInfo(x=320, y=-1200, width=1920, height=1200, pixel_width=1920, pixel_height=1200)
    runner = FakeRunner({DSHOW_ARGS: stderr_result("dummy: Immediate exit requested\n")})
    devices = list_devices(ffmpeg_path="ffmpeg.exe", platform="win32", environ={}, runner=runner,
                           displays=lambda: [primary, left, above])
    monitors = [d.to_json() for d in devices if d.region is not None]
    assert [(m["name"], m["region"], m["width"], m["height"]) for m in monitors] == [
        ("monitor 0 (primary)", "2560x1440+0+0", 2560, 1440),
        ("monitor 1", "1920x1080-1920+360", 1920, 1080),
        ("monitor 2", "1920x1200+320-1200", 1920, 1200),
    ]
    console = Console(width=160, record=True, color_system=None)
    console.print(devices_table(devices))
    rows = [line for line in console.export_text().splitlines() if "monitor " in line]
    assert len(rows) == 3 and "1920x1080-1920+360" in rows[1] and "1920x1200+320-1200" in rows[2], rows


@pytest.mark.x11
def test_x11_screen_size_reads_each_screen_of_a_real_server(two_screen_xvfb: str) -> None:
    """From the connection's setup reply alone (no keymap, no extensions): the screen the display names."""
    from caprec.capture.platform.screen import x11_screen_size

    assert x11_screen_size(f"{two_screen_xvfb}.0") == (1280, 720)
    assert x11_screen_size(f"{two_screen_xvfb}.1") == (800, 600)
    assert x11_screen_size(two_screen_xvfb) == (1280, 720)
    for nobody in (":59000", ":65000"):  # no server; a number python-xlib turns into a bad TCP port
        with pytest.raises(DisplayError, match="cannot open the X display"):
            x11_screen_size(nobody)
