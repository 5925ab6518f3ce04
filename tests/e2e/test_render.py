"""``caprec render`` end to end: one real studio bundle (Xvfb, xdotool, a pause, test audio), rendered and measured.

The bundle is recorded once per session from a pty (pause and resume are
keys) over a root window tiled with a grey 32 px grid, so zoom can be
measured from pixels; the grid is taken away again before any other test
runs. Outputs are checked with ffprobe and by decoding frames.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from caprec.capture.cursor.reader import read_cursor_log
from caprec.capture.studio.manifest import read_manifest
from support.env import scrubbed_environ
from support.media import ffprobe
from support.mp4 import mp4_top_level_boxes
from support.polling import wait_until
from support.process import children_of, pid_alive, python_argv
from support.pty import spawn_in_pty
from support.xserver import XServer

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")

REGION_W, REGION_H = 640, 360
GRID = 32
GRID_GREY = "#505050"
FPS = 30
# Brighter than the grid (#505050 is luma ~85) and than its compression noise: the ring or the arrow.
RING_LEVEL = 140
PTY_TIMEOUT_S = 60.0
RENDER_TIMEOUT_S = 120.0
# Ctrl-C to exit for a render: its FFmpegs are killed at once (letting them finish took ~3 s each); a bound far
# from both, for a loaded machine.
CTRL_C_STOP_S = 2.5
XDOTOOL_TIMEOUT_S = 5.0
# Pacing between pointer actions, so each lands in a distinct frame (not synchronisation).
STEP_S = 0.45
# A pointer image unlike caprec's arrow (white parts left of and above its hotspot too).
CURSOR_NAME = "crosshair"
FRAMES_RE = r"frames (?:\x1b\[[0-9;]*m)*\s*(\d+)"


@dataclass(frozen=True)
class StudioBundle:
    path: Path
    manifest: dict[str, Any]
    events: list[dict[str, Any]]
    env: dict[str, str]

    @property
    def presses(self) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == "click" and e["pressed"]]

    @property
    def duration(self) -> float:
        return float(sum(s["duration"] for s in self.manifest["segments"]))


def _xdotool(env: dict[str, str], *args: str) -> None:
    subprocess.run(["xdotool", *args], env=env, check=True, timeout=XDOTOOL_TIMEOUT_S)


def _grid_bitmap(path: Path) -> None:
    """A GRID x GRID XBM tile with its first row and column set: a grid when tiled."""
    rows = []
    for y in range(GRID):
        bits = [1 if (x == 0 or y == 0) else 0 for x in range(GRID)]
        for byte in range(GRID // 8):
            rows.append(sum(bit << i for i, bit in enumerate(bits[byte * 8:byte * 8 + 8])))
    body = ",".join(f"0x{value:02x}" for value in rows)
    path.write_text(f"#define g_width {GRID}\n#define g_height {GRID}\nstatic unsigned char g_bits[] = {{\n{body}}};\n")


@pytest.fixture(scope="session")
def studio_bundle(xvfb: XServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StudioBundle]:
    """One real studio recording with moves, clicks, a pause and test audio, shared by every render test."""
    pexpect = pytest.importorskip("pexpect")
    if shutil.which("xsetroot") is None:
        if os.environ.get("CI"):
            pytest.fail("xsetroot is not installed (apt-get install x11-xserver-utils)")
        pytest.skip("xsetroot is not installed (apt-get install x11-xserver-utils)")
    home = tmp_path_factory.mktemp("studio")
    env = scrubbed_environ()
    env.update(DISPLAY=xvfb.display, XDG_CONFIG_HOME=str(home / "config"), TERM="xterm-256color", NO_COLOR="1")
    bitmap = home / "grid.xbm"
    _grid_bitmap(bitmap)
    subprocess.run(["xsetroot", "-bitmap", str(bitmap), "-fg", GRID_GREY, "-bg", "black"], env=env, check=True,
                   timeout=XDOTOOL_TIMEOUT_S)
    bundle = home / "take.caprec"
    _xdotool(env, "mousemove", "20", "20")
    argv = python_argv("record", "--mode", "studio", "--audio", "test", "--region",
                       f"{REGION_W}x{REGION_H}+0+0", "-o", str(bundle))
    child = spawn_in_pty(argv, cwd=home, env=env, timeout=PTY_TIMEOUT_S)
    try:
        child.expect(FRAMES_RE)
        for action in (("mousemove", "100", "80"), ("mousemove", "320", "180"), ("click", "1"),
                       ("mousemove", "480", "260")):
            time.sleep(STEP_S)
            _xdotool(env, *action)
            if action[1:] == ("100", "80"):  # the pointer changes its image: recorded once, drawn by render
                subprocess.run(["xsetroot", "-cursor_name", CURSOR_NAME], env=env, check=True,
                               timeout=XDOTOOL_TIMEOUT_S)
        time.sleep(STEP_S)
        child.send("p")
        child.expect("PAUSED")
        _xdotool(env, "mousemove", "600", "40")  # while paused: not in the log
        child.send("p")
        child.expect("REC")
        for action in (("mousemove", "200", "220"), ("click", "1"), ("mousemove", "400", "120")):
            time.sleep(STEP_S)
            _xdotool(env, *action)
        time.sleep(2 * STEP_S)
        child.sendintr()
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
        for restore in (["-def"], ["-solid", "black"]):  # the default pointer, the black root
            subprocess.run(["xsetroot", *restore], env=env, check=False, timeout=XDOTOOL_TIMEOUT_S)
    assert child.exitstatus == 0, child.before
    manifest = read_manifest(bundle / "recording.toml")
    assert len(manifest["segments"]) == 2, manifest
    log = read_cursor_log(bundle / "cursor.ndjson")
    yield StudioBundle(bundle, manifest, list(log.events), env)


def run_render(bundle: StudioBundle, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in bundle.env.items() if key != "TERM"}
    return subprocess.run(python_argv("render", *args), cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=RENDER_TIMEOUT_S, check=False)


def luma_frames(path: Path, width: int, height: int) -> np.ndarray:
    """Every frame's Y plane, decoded by ffmpeg: shape (frames, height, width)."""
    out = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "gray", "-"],
                         capture_output=True, check=True, timeout=RENDER_TIMEOUT_S).stdout
    return np.frombuffer(out, dtype=np.uint8).reshape(-1, height, width)


def audio_duration(path: Path) -> float:
    """Seconds of audio, counted by decoding it (WebM stores no stream duration)."""
    rate = 8000
    out = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:a:0", "-ac", "1", "-ar", str(rate),
                          "-f", "s16le", "-"], capture_output=True, check=True, timeout=RENDER_TIMEOUT_S).stdout
    return len(out) / 2 / rate


def hotspot(frame: np.ndarray, near: tuple[float, float], *, reach: int = 40, level: int = 200) -> tuple[int, int]:
    """The drawn arrow's tip near ``near``: its topmost white pixel (leftmost among those)."""
    x0, y0 = max(0, int(near[0]) - reach), max(0, int(near[1]) - reach)
    box = frame[y0:int(near[1]) + reach, x0:int(near[0]) + reach]
    ys, xs = np.nonzero(box > level)
    assert len(ys), f"no cursor near {near}"
    top = ys.min()
    return int(xs[ys == top].min()) + x0, int(top) + y0


def test_mp4_joins_the_pauses_keeps_audio_and_draws_the_cursor_where_logged(studio_bundle: StudioBundle,
                                                                            tmp_path: Path) -> None:
    out = tmp_path / "plain.mp4"
    ran = run_render(studio_bundle, str(studio_bundle.path), "-o", str(out), "--zoom", "off",
                     "--cursor-smoothing", "off", "--clicks", "off", "--json", "--cursor-image", "arrow", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    summary = json.loads(ran.stdout)
    probe = ffprobe(out)
    recorded = sum(s["frames"] for s in studio_bundle.manifest["segments"])
    # The pause is cut: the render is as long as the two segments together.
    assert abs(probe.frames - recorded) <= 2, (probe.frames, recorded)
    assert probe.duration is not None and abs(probe.duration - studio_bundle.duration) < 0.15
    assert (probe.codec, probe.width, probe.height) == ("h264", REGION_W, REGION_H)
    assert summary["frames"] == probe.frames and summary["audio"] is True
    assert abs(audio_duration(out) - studio_bundle.duration) < 0.15
    boxes = mp4_top_level_boxes(out)
    assert boxes.index("moov") < boxes.index("mdat"), boxes  # index first: plays while downloading
    frames = luma_frames(out, REGION_W, REGION_H)
    checked = check_hotspots(studio_bundle, frames, lambda x, y: (x, y))
    assert checked >= 4  # both segments: the second one starts where the first ended


def check_hotspots(bundle: StudioBundle, frames: np.ndarray,
                   to_output: Callable[[float, float], tuple[float, float]]) -> int:
    """Assert the drawn arrow's tip is within 2 px of each logged move (mapped by ``to_output``) on a frame
    shortly after it; returns how many moves were checked (those whose arrow lands inside the frame)."""
    moves = [e for e in bundle.events if e["type"] == "move"]
    checked = 0
    for event, following in zip(moves, [*moves[1:], None], strict=True):
        t = event["t"] / 1000
        later = bundle.duration if following is None else following["t"] / 1000
        index = int((t + min(0.1, (later - t) / 2)) * FPS) + 1
        ex, ey = to_output(event["x"], event["y"])
        if index >= len(frames) or index / FPS >= later or not (0 <= ex < REGION_W - 40 and 0 <= ey < REGION_H - 50):
            continue
        x, y = hotspot(frames[index], (ex, ey))
        assert abs(x - ex) <= 2 and abs(y - ey) <= 2, (event, (ex, ey), (x, y), index)
        checked += 1
    return checked


def test_a_zoomed_render_draws_the_cursor_where_logged_scaled_by_the_zoom(studio_bundle: StudioBundle,
                                                                          tmp_path: Path) -> None:
    # A fixed 1.5x view of the middle for the whole recording (no ease): it starts at (W/2 - W/3, H/2 - H/3).
    scale = 1.5
    edits = tmp_path / "zoom.toml"
    edits.write_text(f"[[zoom]]\nstart = 0\nend = {studio_bundle.duration!r}\nscale = {scale}\n"
                     "centre = [0.5, 0.5]\ntransition = 0\n")
    out = tmp_path / "zoomed.mp4"
    ran = run_render(studio_bundle, str(studio_bundle.path), "-o", str(out), "--zoom", str(edits),
                     "--cursor-smoothing", "off", "--clicks", "off", "--cursor-image", "arrow", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    frames = luma_frames(out, REGION_W, REGION_H)
    assert abs(_grid_spacing(frames[0]) / GRID - scale) <= 0.05
    left, top = REGION_W / 2 - REGION_W / scale / 2, REGION_H / 2 - REGION_H / scale / 2
    checked = check_hotspots(studio_bundle, frames, lambda x, y: ((x - left) * scale, (y - top) * scale))
    assert checked >= 3


def _grid_spacing(frame: np.ndarray) -> float:
    """The spacing of the grid's vertical lines, from the columns' median brightness."""
    profile = np.median(frame.astype(float), axis=0)
    peaks = [x for x in range(1, len(profile) - 1)
             if profile[x] > 40 and profile[x] >= profile[x - 1] and profile[x] > profile[x + 1]]
    centres = []
    for x in peaks:
        window = profile[max(0, x - 3):x + 4] - 16
        weights = np.clip(window, 0, None)
        centres.append(max(0, x - 3) + float((weights * np.arange(len(window))).sum() / weights.sum()))
    gaps = np.diff(centres)
    return float(np.median(gaps))


def test_auto_zoom_is_two_at_a_click_and_the_click_shows(studio_bundle: StudioBundle, tmp_path: Path) -> None:
    out = tmp_path / "zoom.mp4"
    ran = run_render(studio_bundle, str(studio_bundle.path), "-o", str(out), "--json", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    summary = json.loads(ran.stdout)
    assert summary["zoom"], summary
    frames = luma_frames(out, REGION_W, REGION_H)
    unzoomed = _grid_spacing(frames[0])
    assert abs(unzoomed - GRID) < 0.5, unzoomed
    measured = 0
    for press in studio_bundle.presses:
        t = press["t"] / 1000
        if not any(z["start"] <= t <= z["end"] for z in summary["zoom"]):
            continue
        index = round(t * FPS) + 3  # 0.1 s after the press: the ring is out
        scale = _grid_spacing(frames[index]) / GRID
        assert abs(scale - 2.0) <= 0.05, (press, scale)
        # The ring around the click (and the arrow): bright pixels, none cut off by the frame's edges.
        bright = np.argwhere(frames[index] > RING_LEVEL)
        assert len(bright) > 50, press
        (top, left), (bottom, right) = bright.min(axis=0), bright.max(axis=0)
        assert top > 0 and bottom < REGION_H - 1 and left > 0 and right < REGION_W - 1, (press, top, left, bottom,
                                                                                         right)
        measured += 1
    assert measured >= 1, (studio_bundle.presses, summary["zoom"])


def test_at_each_click_the_auto_zoom_is_two_and_the_click_point_is_in_view(studio_bundle: StudioBundle,
                                                                          tmp_path: Path) -> None:
    from caprec.capture.render.cursor_art import arrow_height

    out = tmp_path / "zoom-plain.mp4"
    # Smoothing off and no click effect: on the frame after a press the only white is the arrow, its tip on the
    # click point. The whole arrow (twice its unzoomed height) must show, so the click point is well inside.
    ran = run_render(studio_bundle, str(studio_bundle.path), "-o", str(out), "--json", "--cursor-smoothing", "off",
                     "--clicks", "off", "--cursor-image", "arrow", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    zoom = json.loads(ran.stdout)["zoom"]
    frames = luma_frames(out, REGION_W, REGION_H)
    zoomed = 2 * arrow_height(REGION_H, 1.0)
    measured = 0
    for press in studio_bundle.presses:
        t = press["t"] / 1000
        if not any(z["start"] <= t <= z["end"] for z in zoom):
            continue
        index = int(t * FPS) + 1  # the first frame at or after the press
        assert abs(_grid_spacing(frames[index]) / GRID - 2.0) <= 0.05, press
        ys, xs = np.nonzero(frames[index] > 200)
        assert len(ys), press
        top = ys.min()
        tip = (int(xs[ys == top].min()), int(top))
        assert 0 < tip[0] < REGION_W - zoomed / 2 and 0 < tip[1] < REGION_H - zoomed, (press, tip)
        assert ys.max() - top >= 0.8 * zoomed, (press, ys.max() - top, zoomed)  # the whole arrow: not clipped
        measured += 1
    assert measured >= 1, (studio_bundle.presses, zoom)


def test_click_ring_expands_at_the_click(studio_bundle: StudioBundle, tmp_path: Path) -> None:
    out = tmp_path / "ring.mp4"
    ran = run_render(studio_bundle, str(studio_bundle.path), "-o", str(out), "--zoom", "off",
                     "--cursor-smoothing", "off", "--cursor-image", "arrow", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    frames = luma_frames(out, REGION_W, REGION_H)
    press = studio_bundle.presses[0]
    t0 = press["t"] / 1000
    radii = []
    for delay in (0.03, 0.1, 0.17):
        frame = frames[int(t0 * FPS + delay * FPS) + 1].astype(float)
        ys, xs = np.nonzero(frame > RING_LEVEL)
        # Ring pixels: bright, away from the arrow (which points down-right from the click).
        distance = np.hypot(xs - press["x"], ys - press["y"])
        ring = distance[(xs < press["x"] - 2) | (ys < press["y"] - 2)]
        assert len(ring) > 10, delay
        radii.append(float(np.median(ring)))
    assert radii[0] < radii[1] < radii[2], radii
    before = frames[max(0, int(t0 * FPS) - 3)]
    above = before[int(press["y"]) - 20:int(press["y"]) - 5, int(press["x"]) - 20:int(press["x"]) + 20]
    assert (above > RING_LEVEL).sum() == 0  # no ring before the click


def test_gif_has_the_frames_and_a_palette(studio_bundle: StudioBundle, tmp_path: Path) -> None:
    out = tmp_path / "take.gif"
    ran = run_render(studio_bundle, str(studio_bundle.path), "-o", str(out), "--fps", "10", "--width", "320",
                     cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    probe = ffprobe(out)
    assert probe.codec == "gif" and (probe.width, probe.height) == (320, 180)
    assert abs(probe.frames - studio_bundle.duration * 10) <= 2, probe
    head = out.read_bytes()[:13]
    assert head[:6] == b"GIF89a"
    assert head[10] & 0x80, "no global colour table (palettegen's palette)"
    rgb = subprocess.run(["ffmpeg", "-v", "error", "-i", str(out), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         capture_output=True, check=True).stdout
    colours = np.unique(np.frombuffer(rgb, dtype=np.uint8).reshape(-1, 3), axis=0)
    assert 2 < len(colours) <= 256


def test_trim_keeps_the_span_with_its_audio(studio_bundle: StudioBundle, tmp_path: Path) -> None:
    out = tmp_path / "trim.webm"
    ran = run_render(studio_bundle, str(studio_bundle.path), "-o", str(out), "--trim", "1-3", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    probe = ffprobe(out)
    assert probe.codec == "vp9"
    assert abs(probe.frames - 2 * FPS) <= 2, probe
    assert abs(audio_duration(out) - 2.0) < 0.15


def _listing(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


def _copy(bundle: StudioBundle, tmp_path: Path) -> Path:
    copy = tmp_path / "copy.caprec"
    shutil.copytree(bundle.path, copy)
    return copy


@pytest.mark.parametrize("case", ["not-a-bundle", "missing-segment", "overlap", "out-of-range", "unknown-option",
                                  "exists"])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(studio_bundle: StudioBundle, tmp_path: Path,
                                                         case: str) -> None:
    bundle = _copy(studio_bundle, tmp_path)
    args = [str(bundle), "-o", str(tmp_path / "out.mp4")]
    expect = ""
    if case == "not-a-bundle":
        plain = tmp_path / "plain"
        plain.mkdir()
        args[0], expect = str(plain), "recording.toml does not exist"
    elif case == "missing-segment":
        (bundle / "segments" / "2" / "display.mp4").unlink()
        expect = "segment 2's video"
    elif case in ("overlap", "out-of-range"):
        edits = tmp_path / "zoom.toml"
        body = ("[[zoom]]\nstart = 0.5\nend = 2.0\n[[zoom]]\nstart = 1.5\nend = 3.0\n" if case == "overlap"
                else "[[zoom]]\nstart = 1.0\nend = 99.0\n")
        edits.write_text(body)
        args += ["--zoom", str(edits)]
        expect = "overlaps zoom segment 1" if case == "overlap" else "is outside the recording"
    elif case == "unknown-option":
        args += ["--zoomm", "off"]
        expect = "No such option: --zoomm"
    else:
        (tmp_path / "out.mp4").write_bytes(b"keep me")
        expect = "already exists; pass --overwrite"
    before = _listing(tmp_path)
    ran = run_render(studio_bundle, *args, cwd=tmp_path)
    assert ran.returncode == 2, ran.stderr
    lines = ran.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expect in lines[0], lines
    assert "Traceback" not in ran.stderr
    assert _listing(tmp_path) == before
    if case == "exists":
        assert (tmp_path / "out.mp4").read_bytes() == b"keep me"


def test_a_torn_cursor_log_renders_what_parses_and_says_so(studio_bundle: StudioBundle, tmp_path: Path) -> None:
    bundle = _copy(studio_bundle, tmp_path)
    with (bundle / "cursor.ndjson").open("ab") as handle:
        handle.write(b'{"t":99.0,"type":"mo')
    out = tmp_path / "torn.mp4"
    ran = run_render(studio_bundle, str(bundle), "-o", str(out), "--zoom", "off", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert "warning: cursor log:" in ran.stderr and "torn" in ran.stderr
    assert ffprobe(out).frames > 0


def test_overwrite_replaces_a_symlink_not_its_target(studio_bundle: StudioBundle, tmp_path: Path) -> None:
    target = tmp_path / "precious.txt"
    target.write_text("precious")
    link = tmp_path / "out.mp4"
    link.symlink_to(target)
    ran = run_render(studio_bundle, str(studio_bundle.path), "-o", str(link), "--overwrite", "--trim", "0-1",
                     "--zoom", "off", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert target.read_text() == "precious"
    assert not link.is_symlink() and ffprobe(link).frames > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4", "precious.txt"]


def test_dry_run_prints_an_edit_list_that_renders_back(studio_bundle: StudioBundle, tmp_path: Path) -> None:
    ran = run_render(studio_bundle, str(studio_bundle.path), "-o", str(tmp_path / "x.mp4"), "--dry-run",
                     cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert "[[zoom]]" in ran.stdout and "smoothing mellow" in ran.stdout
    assert not (tmp_path / "x.mp4").exists()
    edits = tmp_path / "edits.toml"
    edits.write_text(ran.stdout)
    again = run_render(studio_bundle, str(studio_bundle.path), "-o", str(tmp_path / "x.mp4"), "--zoom", str(edits),
                       "--dry-run", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert again.stdout.split("[[zoom]]", 1)[1] == ran.stdout.split("[[zoom]]", 1)[1]


def test_zoom_scale_sets_the_automatic_segments_scale(studio_bundle: StudioBundle, tmp_path: Path) -> None:
    ran = run_render(studio_bundle, str(studio_bundle.path), "-o", str(tmp_path / "x.mp4"), "--dry-run",
                     "--zoom-scale", "1.5", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    edits = tmp_path / "edits.toml"
    edits.write_text(ran.stdout)
    with edits.open("rb") as handle:
        segments = tomllib.load(handle)["zoom"]
    assert segments and all(segment["scale"] == 1.5 for segment in segments), segments


def test_a_bundle_without_pointer_images_gets_the_built_in_arrow(studio_bundle: StudioBundle,
                                                                 tmp_path: Path) -> None:
    # An older bundle (cursor log 1.0, no cursors/): what other platforms and earlier caprec versions record.
    bundle = _copy(studio_bundle, tmp_path)
    shutil.rmtree(bundle / "cursors")
    lines = (bundle / "cursor.ndjson").read_text().splitlines()
    header = {**json.loads(lines[0]), "version": "1.0"}
    events = [line for line in lines[1:] if json.loads(line)["type"] != "cursor"]
    (bundle / "cursor.ndjson").write_text("\n".join([json.dumps(header), *events]) + "\n")
    plan = run_render(studio_bundle, str(bundle), "--dry-run", cwd=tmp_path)
    assert plan.returncode == 0 and "cursor: caprec's arrow" in plan.stdout, (plan.stdout, plan.stderr)
    out = tmp_path / "old.mp4"
    ran = run_render(studio_bundle, str(bundle), "-o", str(out), "--zoom", "off", "--cursor-smoothing", "off",
                     "--clicks", "off", "--trim", "0-2", cwd=tmp_path)
    assert ran.returncode == 0 and "warning" not in ran.stderr, ran.stderr
    assert check_hotspots(studio_bundle, luma_frames(out, REGION_W, REGION_H), lambda x, y: (x, y)) >= 1


def test_progress_shows_in_a_terminal_and_plain_text_off_one(studio_bundle: StudioBundle, tmp_path: Path) -> None:
    pexpect = pytest.importorskip("pexpect")
    argv = python_argv("render", str(studio_bundle.path), "-o", str(tmp_path / "tty.mp4"), "--zoom", "off")
    child = spawn_in_pty(argv, cwd=tmp_path, env=studio_bundle.env, timeout=RENDER_TIMEOUT_S)
    try:
        child.expect(r"rendering.*frames")
        child.expect("saved:")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
    plain = run_render(studio_bundle, str(studio_bundle.path), "-o", str(tmp_path / "plain.mp4"), "--zoom", "off",
                       cwd=tmp_path)
    assert plain.returncode == 0, plain.stderr
    assert "\x1b[" not in plain.stderr and plain.stderr.startswith("saved: ")


def test_ctrl_c_stops_the_render_and_leaves_nothing(studio_bundle: StudioBundle, tmp_path: Path) -> None:
    pexpect = pytest.importorskip("pexpect")
    before = _listing(tmp_path)
    # A slow render (large output, slowest preset) so that Ctrl-C lands mid-way.
    argv = python_argv("render", str(studio_bundle.path), "-o", str(tmp_path / "stop.mp4"), "--width", "1920",
                       "--preset", "veryslow")
    child = spawn_in_pty(argv, cwd=tmp_path, env=studio_bundle.env, timeout=RENDER_TIMEOUT_S)
    try:
        child.expect(r"rendering.* [1-9][0-9]*/[0-9]+ frames")  # mid-way: frames are flowing
        child.sendintr()
        stopped = time.monotonic()
        child.expect(pexpect.EOF)
        waited = time.monotonic() - stopped
    finally:
        child.close(force=True)
    assert (child.exitstatus, child.signalstatus) == (130, None), child.before
    # The FFmpegs are killed, not let finish a file that is deleted (that took ~3 s per FFmpeg).
    assert waited < CTRL_C_STOP_S, (waited, child.before)
    assert "interrupted:" in (child.before or "") and "Traceback" not in (child.before or "")
    assert _listing(tmp_path) == before  # no output, no temporary file


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_script_cancels_a_background_render_with_kill(studio_bundle: StudioBundle, tmp_path: Path,
                                                        signum: int) -> None:
    """A script's background job starts with SIGINT ignored (Python then sets no handler): ``kill -INT`` did
    nothing, and SIGTERM ended caprec at once with its FFmpegs still running and the temporary file left."""
    before = _listing(tmp_path)
    argv = python_argv("render", str(studio_bundle.path), "-o", str(tmp_path / "bg.mp4"), "--width", "1920",
                       "--preset", "veryslow")
    proc = subprocess.Popen(argv, cwd=tmp_path, env=studio_bundle.env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    try:
        # Mid-way: the temporary output exists and both FFmpegs run.
        wait_until(lambda: len(children_of(proc.pid)) >= 2 and len(_listing(tmp_path)) > len(before),
                   RENDER_TIMEOUT_S, message="the render to start")
        ffmpegs = children_of(proc.pid)
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=RENDER_TIMEOUT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert "interrupted:" in err and "Traceback" not in err
    assert _listing(tmp_path) == before  # no output, no temporary file
    assert [pid for pid in ffmpegs if pid_alive(pid)] == []


def test_padding_background_corners_and_shadow_frame_the_screen_as_a_card(studio_bundle: StudioBundle,
                                                                          tmp_path: Path) -> None:
    out = tmp_path / "card.mp4"
    ran = run_render(studio_bundle, str(studio_bundle.path), "-o", str(out), "--zoom", "off", "--trim", "0-1",
                     "--padding", "40", "--background", "#3050a0", "--corner-radius", "24", "--shadow",
                     cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    rgb = subprocess.run(["ffmpeg", "-v", "error", "-i", str(out), "-frames:v", "1", "-f", "rawvideo", "-pix_fmt",
                          "rgb24", "-"], capture_output=True, check=True).stdout
    frame = np.frombuffer(rgb, dtype=np.uint8).reshape(REGION_H, REGION_W, 3).astype(int)
    # 640x360 less 40 px all round leaves 560x280: the 16:9 card is 498x280, centred (x on an even pixel).
    left, top, width, height = 70, 40, 498, 280
    background = frame[5, 5]
    assert abs(background - np.array([0x30, 0x50, 0xA0])).max() <= 8, background
    assert abs(frame[top + 1, left + 1] - background).max() <= 24  # a rounded corner shows the background
    assert abs(frame[REGION_H // 2, left - 30] - background).max() <= 12  # the padding beside the card
    centre = frame[REGION_H // 2, left + 20:left + width - 20]
    assert centre.max() < 140 and centre.min() < 40  # the recording (black with a grey grid), not the background
    below = frame[top + height + 4, REGION_W // 2]
    assert below.sum() < background.sum() - 30, (below, background)  # the shadow darkens the background


def test_hide_idle_fades_the_cursor_out_after_it_stops(studio_bundle: StudioBundle, tmp_path: Path) -> None:
    last_move = max(e["t"] for e in studio_bundle.events) / 1000
    tail = studio_bundle.duration - 0.15
    hide, fade = 0.05, 0.4
    assert tail - last_move > hide + fade  # the fixture leaves the pointer still at the end
    shown: list[int] = []
    for name, extra in (("shown.mp4", []), ("hidden.mp4", ["--hide-idle", str(hide)])):
        out = tmp_path / name
        ran = run_render(studio_bundle, str(studio_bundle.path), "-o", str(out), "--zoom", "off",
                         "--trim", f"{tail:.3f}-", "--cursor-image", "arrow", *extra, cwd=tmp_path)
        assert ran.returncode == 0, ran.stderr
        shown.append(int((luma_frames(out, REGION_W, REGION_H)[-1] > 200).sum()))
    assert shown[0] > 20 and shown[1] == 0, shown


def test_the_pointers_recorded_images_are_stored_once_and_drawn(studio_bundle: StudioBundle, tmp_path: Path) -> None:
    from caprec.capture.cursor.shapes import read_png_rgba

    log = read_cursor_log(studio_bundle.path / "cursor.ndjson")
    assert log.header["version"] == "1.1"
    shapes = [e for e in studio_bundle.events if e["type"] == "cursor"]
    assert len(shapes) >= 2, shapes  # the pointer at the start, then the crosshair
    files = sorted((studio_bundle.path / "cursors").iterdir())
    # Every logged image is stored, each once (an image seen only before the first frame is stored, not logged).
    assert {e["shape"] for e in shapes} <= {p.stem for p in files}
    assert len({p.read_bytes() for p in files}) == len(files)
    out = tmp_path / "shapes.mp4"
    ran = run_render(studio_bundle, str(studio_bundle.path), "-o", str(out), "--zoom", "off",
                     "--cursor-smoothing", "off", "--clicks", "off", "--crf", "10", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    rendered = luma_frames(out, REGION_W, REGION_H)
    source = luma_frames(studio_bundle.path / "segments" / "1" / "display.mp4", REGION_W, REGION_H)
    first_end = studio_bundle.manifest["segments"][0]["duration"]
    moves = [e for e in studio_bundle.events if e["type"] == "move" and e["t"] / 1000 < first_end - 0.3]
    event = moves[-1]  # the last move of segment 1, well after the change to the crosshair
    shape = [e for e in shapes if e["t"] <= event["t"] + 100][-1]
    width, height, rgba = read_png_rgba((studio_bundle.path / "cursors" / f"{shape['shape']}.png").read_bytes())
    pixels = np.frombuffer(rgba, dtype=np.uint8).reshape(height, width, 4).astype(int)
    expected = np.zeros((REGION_H, REGION_W), dtype=bool)
    white = (pixels[..., 3] > 128) & (pixels[..., :3].mean(axis=2) > 128)
    ys, xs = np.nonzero(white)
    ys, xs = ys + int(event["y"]) - shape["yhot"], xs + int(event["x"]) - shape["xhot"]
    inside = (ys >= 0) & (ys < REGION_H) & (xs >= 0) & (xs < REGION_W)
    expected[ys[inside], xs[inside]] = True
    index = int((event["t"] / 1000 + 0.1) * FPS) + 1
    drawn = (rendered[index].astype(int) - source[index].astype(int)) > 40
    overlap = (expected & drawn).sum() / max(1, (expected | drawn).sum())
    assert expected.sum() > 10 and overlap > 0.5, (overlap, expected.sum(), drawn.sum())
