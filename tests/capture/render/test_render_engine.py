"""The render engine's parts: the exact spring, auto-zoom rules, edit lists, sizes, and sub-pixel zoom quality.

The quality test renders a synthetic bundle (a fine pattern of small dots,
encoded losslessly by the real ffmpeg) through a slow zoom and measures
every frame: the dots' sub-pixel centroids give the scale and centre.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from caprec.capture.render.commands import output_size
from caprec.capture.render.renderer import plan_render, render
from caprec.capture.render.spec import RenderInputError, RenderSpec, Smoothing, ZoomMode, ZoomSegment
from caprec.capture.render.spring import PRESETS, CursorTrack, SmoothCursor, SpringParams, spring_step
from caprec.capture.render.zoom import (
    ZoomTrack,
    auto_segments,
    check_segments,
    edit_list_toml,
    load_edit_list,
    scale_at,
)
from caprec.capture.studio.manifest import MANIFEST_FORMAT, MANIFEST_VERSION, write_manifest

W, H, FPS = 640, 360, 30
DOT_SPACING = 32
DOT_SIGMA = 1.2


def _euler(position: float, target: float, seconds: float, params: SpringParams) -> float:
    """The same spring integrated numerically in tiny steps."""
    x, v, dt = position, 0.0, 1e-5
    for _ in range(round(seconds / dt)):
        a = (-params.tension * (x - target) - params.friction * v) / params.mass
        v += a * dt
        x += v * dt
    return x


@pytest.mark.parametrize("params", [*PRESETS.values(), SpringParams(100.0, 1.0, 20.0)],
                         ids=[*(str(s) for s in PRESETS), "critical"])
def test_the_spring_step_is_the_exact_solution(params: SpringParams) -> None:
    exact, v = 0.0, 0.0
    for _ in range(5):  # five frames of 1/30 s
        exact, v = spring_step(exact, v, 100.0, 1 / 30, params)
    assert abs(exact - _euler(0.0, 100.0, 5 / 30, params)) < 0.05


def _track(moves: list[tuple[float, float, float]], presses: list[tuple[float, float, float]]) -> CursorTrack:
    events = sorted(moves + presses)
    return CursorTrack(np.array([e[0] for e in events]), np.array([e[1] for e in events]),
                       np.array([e[2] for e in events]), tuple(presses), tuple((p[0], p[0] + 0.1) for p in presses))


@pytest.mark.parametrize("smoothing", [s for s in Smoothing if s is not Smoothing.OFF])
def test_smoothing_lands_on_each_click_by_its_time(smoothing: Smoothing) -> None:
    track = _track([(0.0, 10.0, 10.0), (0.5, 600.0, 50.0), (1.0, 300.0, 300.0)],
                   [(1.0, 300.0, 300.0), (1.52, 310.0, 290.0)])
    cursor = SmoothCursor(track, smoothing)
    positions = {}
    for frame in range(0, 75):
        positions[frame] = cursor.at(frame / FPS)
    for t, x, y in track.presses:
        landed = positions[math.ceil(t * FPS - 1e-9)]
        assert landed is not None and math.hypot(landed[0] - x, landed[1] - y) < 0.5, (smoothing, t, landed)
    # And it is smooth: no frame jumps the whole way from 10,10 to 600,50.
    assert positions[16] is not None and positions[16][0] < 590


def test_smoothing_off_draws_the_logged_positions() -> None:
    track = _track([(0.0, 10.0, 10.0), (0.5, 600.0, 50.0)], [])
    cursor = SmoothCursor(track, Smoothing.OFF)
    assert cursor.at(0.49) == (10.0, 10.0) and cursor.at(0.5) == (600.0, 50.0)


def test_auto_zoom_follows_caps_rule() -> None:
    # 1 s and 2 s merge; 8 s starts 3.2 s after that ends (a gap of 2.5 s or more: apart) and stops
    # 0.8 s before the end; 9.5 s is in the last second: ignored.
    track = _track([], [(1.0, 1, 1), (2.0, 1, 1), (8.0, 1, 1), (9.5, 1, 1)])
    assert auto_segments(track, 10.0, scale=2.0) == (ZoomSegment(0.7, 4.5, 2.0), ZoomSegment(7.7, 9.2, 2.0))
    close = _track([], [(1.0, 1, 1), (5.0, 1, 1)])  # 4.7 - 3.5 = 1.2 s apart: one segment
    assert auto_segments(close, 10.0, scale=1.5) == (ZoomSegment(0.7, 7.5, 1.5),)


def test_the_zoom_is_complete_at_an_automatic_segments_click() -> None:
    segment = ZoomSegment(0.7, 4.5, 2.0)
    assert scale_at(segment, 1.0) == pytest.approx(2.0)
    assert scale_at(segment, 0.7) == pytest.approx(1.0) and scale_at(segment, 4.5) == pytest.approx(1.0)


def test_the_view_follows_the_cursor_inside_the_frame_and_eases_into_its_edges() -> None:
    # A 2x segment entered at a click at (100, 100); the pointer then nudges inside the dead zone, jumps to the
    # far corner, to the opposite corner and back to the middle (xdotool-like jumps: the hardest case).
    zoom = ZoomTrack((ZoomSegment(0.0, 20.0, 2.0),), W, H)
    path = [(0.0, (100.0, 100.0)), (1.0, (130.0, 110.0)), (3.0, (630.0, 350.0)), (8.0, (5.0, 5.0)),
            (13.0, (320.0, 180.0))]
    views = []
    for frame in range(round(18.0 * FPS)):
        t = frame / FPS
        cursor = [point for start, point in path if start <= t][-1]
        views.append(zoom.view(t, cursor, first_press=(100.0, 100.0)))
    for view in views:  # never a border: the view stays inside the recording
        assert 0.0 <= view.x <= W - view.width + 1e-9 and 0.0 <= view.y <= H - view.height + 1e-9, view
    xs, ys = np.array([v.x for v in views]), np.array([v.y for v in views])
    # Zoomed in on the click, and still while the pointer stays in the middle of the view.
    assert views[round(0.5 * FPS)] == views[round(2.9 * FPS)] and views[round(0.5 * FPS)].scale == 2.0
    for start, (x, y) in path[2:]:  # it follows: settled, the pointer is in view (and the view at an edge)
        view = views[round((start + 4.5) * FPS)]
        assert view.x <= x <= view.x + view.width and view.y <= y <= view.y + view.height, (start, view)
    assert (xs[round(7.5 * FPS)], ys[round(7.5 * FPS)]) == pytest.approx((W / 2, H / 2), abs=1e-6)  # snapped
    assert (xs[round(12.5 * FPS)], ys[round(12.5 * FPS)]) == pytest.approx((0.0, 0.0), abs=1e-6)
    assert (xs[round(17.5 * FPS)], ys[round(17.5 * FPS)]) == pytest.approx((W / 4, H / 4), abs=0.5)
    # Pans ease into the edge instead of stopping at full speed (a clamp jolt measured 68 px/frame^2): the
    # largest change of speed is the spring's start, and the last step onto the edge is sub-pixel.
    assert np.abs(np.diff(xs[1:], 2)).max() < 20 and np.abs(np.diff(ys[1:], 2)).max() < 20
    arrive = round(3.0 * FPS) + int(np.argmax(xs[round(3.0 * FPS):] > W / 2 - 1e-6))
    assert 0.0 < xs[arrive] - xs[arrive - 1] < 1.0, xs[arrive - 5:arrive + 1]


def test_an_edit_list_round_trips_and_bad_ones_name_the_entry(tmp_path: Path) -> None:
    segments = (ZoomSegment(0.5, 2.0, 2.0), ZoomSegment(3.0, 4.0, 1.5, (0.25, 0.75), 0.5))
    path = tmp_path / "zoom.toml"
    path.write_text(edit_list_toml(segments))
    assert load_edit_list(path, default_scale=2.0) == segments
    path.write_text("[[zoom]]\nstart = 1\nend = 2\nzoom = 3\n")
    with pytest.raises(RenderInputError, match="zoom segment 1 has unknown key 'zoom'"):
        load_edit_list(path, default_scale=2.0)
    path.write_text("[[zoom]]\nstart = 1\nend = 2\nscale = 20\n")
    with pytest.raises(RenderInputError, match="scale 20 is out of range"):
        load_edit_list(path, default_scale=2.0)
    with pytest.raises(RenderInputError, match="ends before it starts"):
        check_segments([ZoomSegment(2.0, 1.0, 2.0)], 5.0, source="z.toml")


def test_output_sizes_are_even_and_keep_the_aspect() -> None:
    assert output_size((1280, 720), width=None, height=None, default_width=800) == (800, 450)
    assert output_size((1280, 720), width=None, height=None, default_width=None) == (1280, 720)
    assert output_size((1280, 720), width=None, height=360, default_width=None) == (640, 360)
    assert output_size((1366, 768), width=1000, height=None, default_width=None) == (1000, 562)
    with pytest.raises(RenderInputError, match="aspect"):
        output_size((1280, 720), width=640, height=640, default_width=None)


# --- sub-pixel quality ---------------------------------------------------------------------------------


def _dot_pattern() -> np.ndarray:
    """Small Gaussian dots every DOT_SPACING px, centred on pixel centres, on black (studio range)."""
    ys, xs = np.mgrid[0:H, 0:W].astype(float)
    dx = (xs - DOT_SPACING / 2) % DOT_SPACING
    dy = (ys - DOT_SPACING / 2) % DOT_SPACING
    dx = np.minimum(dx, DOT_SPACING - dx)
    dy = np.minimum(dy, DOT_SPACING - dy)
    pattern: np.ndarray = (16 + 219 * np.exp(-(dx * dx + dy * dy) / (2 * DOT_SIGMA ** 2))).round().astype(np.uint8)
    return pattern


def _synthetic_bundle(root: Path, seconds: float) -> Path:
    bundle = root / "dots.caprec"
    (bundle / "segments" / "1").mkdir(parents=True)
    luma = _dot_pattern()
    frame = luma.tobytes() + bytes([128]) * (W * H // 2)
    video = bundle / "segments" / "1" / "display.mp4"
    frames = round(seconds * FPS)
    subprocess.run(["ffmpeg", "-v", "error", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{W}x{H}",
                    "-framerate", str(FPS), "-i", "-", "-c:v", "libx264", "-qp", "0", "-preset", "ultrafast",
                    str(video)], input=frame * frames, check=True, timeout=60)
    write_manifest(bundle / "recording.toml", {
        "format": MANIFEST_FORMAT, "version": MANIFEST_VERSION, "status": "complete", "fps": float(FPS),
        "cursor": "cursor.ndjson", "segments": [{"index": 1, "display": "segments/1/display.mp4",
                                                  "start": 0.0, "duration": seconds, "frames": frames,
                                                  "status": "complete"}]})
    header = {"format": "caprec-cursor", "version": "1.0", "region": {"x": 0, "y": 0, "width": W, "height": H},
              "unit": "pixels", "fps": float(FPS)}
    (bundle / "cursor.ndjson").write_text(json.dumps(header) + "\n")
    return bundle


def _centroid(frame: np.ndarray, near: tuple[float, float], reach: int = 6) -> tuple[float, float]:
    x0, y0 = round(near[0]) - reach, round(near[1]) - reach
    box = np.clip(frame[y0:y0 + 2 * reach + 1, x0:x0 + 2 * reach + 1].astype(float) - 24.0, 0.0, None)
    ys, xs = np.mgrid[0:box.shape[0], 0:box.shape[1]]
    return x0 + float((box * xs).sum() / box.sum()), y0 + float((box * ys).sum() / box.sum())


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")
def test_a_slow_zoom_moves_sub_pixel_smoothly_with_no_backward_jump(tmp_path: Path) -> None:
    # Slow: 1x to 1.3x over 3 s, so the motion itself accelerates far less than 0.1 px/frame^2
    # and whole-pixel stepping (0.5 px) would show in the second differences.
    seconds, top = 6.0, 1.3
    bundle = _synthetic_bundle(tmp_path, seconds)
    segment = ZoomSegment(0.0, seconds, top, (0.5, 0.5), seconds / 2)
    out = tmp_path / "zoom.mp4"
    spec = RenderSpec(bundle=bundle, output=out, zoom=ZoomMode.FILE, zoom_segments=(segment,), crf=0)
    render(plan_render(spec, ffmpeg_path="ffmpeg"), ffmpeg_path="ffmpeg")
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(out), "-f", "rawvideo", "-pix_fmt", "gray", "-"],
                         capture_output=True, check=True, timeout=60).stdout
    frames = np.frombuffer(raw, dtype=np.uint8).reshape(-1, H, W)
    ramp = round(seconds / 2 * FPS)  # the ease in: the scale only grows
    # Two dots either side of the centre (source pixel centres), followed frame by frame.
    dots = [(16 + 32 * 13, 16 + 32 * 7), (16 + 32 * 6, 16 + 32 * 3)]
    scales, centres, tracks = [], [], []
    for index in range(ramp + 1):
        s = scale_at(segment, index / FPS)
        # Where the model puts a source point: u = (x + 0.5 - view_x) * s - 0.5.
        expected = [((x + 0.5 - (W / 2 - W / 2 / s)) * s - 0.5, (y + 0.5 - (H / 2 - H / 2 / s)) * s - 0.5)
                    for x, y in dots]
        found = [_centroid(frames[index], e) for e in expected]
        for (fx, fy), (ex, ey) in zip(found, expected, strict=True):
            assert abs(fx - ex) < 0.1 and abs(fy - ey) < 0.1, (index, found, expected)
        (ax, ay), (bx, by) = found
        scales.append((ax - bx) / (dots[0][0] - dots[1][0]))
        centres.append(((ax + bx) / 2, (ay + by) / 2))
        tracks.append(found[0])
    scale = np.array(scales)
    assert scale[0] == pytest.approx(1.0, abs=0.002) and scale[-1] == pytest.approx(top, abs=0.002)
    assert (np.diff(scale) > -0.0005).all(), np.diff(scale)  # monotonic: no backward jump
    xs = np.array([p[0] for p in tracks])
    ys = np.array([p[1] for p in tracks])
    assert (np.diff(xs) > -0.02).all() and (np.diff(ys) > -0.02).all()
    assert np.abs(np.diff(xs, 2)).max() < 0.1 and np.abs(np.diff(ys, 2)).max() < 0.1
    centre = np.array(centres)
    expected_centre = ((dots[0][0] + dots[1][0]) / 2 + 0.5 - W / 2) * scale + W / 2 - 0.5
    assert np.abs(centre[:, 0] - expected_centre).max() < 0.1


def test_shrink_eases_to_0_8_while_held_and_back_after() -> None:
    from caprec.capture.render.cursor_art import SHRINK_S, SHRINK_TO, shrink_at

    assert shrink_at(None, None) == 1.0
    assert shrink_at(0.0, None) == 1.0
    assert shrink_at(SHRINK_S, None) == pytest.approx(SHRINK_TO)
    assert 1.0 > shrink_at(SHRINK_S / 2, None) > SHRINK_TO
    assert shrink_at(1.0, SHRINK_S) == pytest.approx(1.0)
