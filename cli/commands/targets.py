"""``caprec record``'s capture targets: ``--window``, ``--screen``, ``--region pick``, ``--follow-mouse``,
``--audio-tracks``; applied to a resolved :class:`caprec.commands.plan.RecordPlan`.

The engine resolves (:mod:`caprec.capture.platform.targets`) and points (:mod:`caprec.capture.platform.x11pick`);
this module maps flags to those calls and messages.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from caprec.capture.cursor.format import Region as CursorRegion
from caprec.capture.errors import SettingError
from caprec.capture.ffmpeg.argv import AudioMix, AudioTracks, Backend, VideoSource
from caprec.capture.platform.camera import parse_camera, parse_camera_width, parse_corner
from caprec.capture.platform.devices_linux import read_x_screens
from caprec.capture.platform.displays import avfoundation_screen_device
from caprec.capture.platform.targets import (
    PICK,
    Monitor,
    choose_monitor,
    choose_window,
    default_monitor,
    even_region,
    parse_window_id,
    x11_monitors,
)
from caprec.capture.units import Region

if TYPE_CHECKING:
    from caprec.capture.platform.x11info import XWindow
    from caprec.commands.plan import RecordPlan

Say = Callable[[str], None]


@dataclass(frozen=True)
class TargetFlags:
    """The target flags as given (None / False: not given)."""

    window: str | None = None
    screen: str | None = None
    follow_mouse: bool = False
    region_pick: bool = False
    region_given: bool = False
    audio_tracks: str | None = None
    camera: str | None = None
    camera_position: str | None = None
    camera_size: str | None = None


def check_combinations(flags: TargetFlags) -> None:
    """Refuse flags that contradict each other, before anything is asked of the system."""
    if flags.window is not None and (flags.region_given or flags.region_pick):
        raise SettingError("--window", "records a whole window; drop --region (or drop --window to record a region)")
    if flags.screen is not None and (flags.region_given or flags.region_pick):
        raise SettingError("--screen", "records a whole monitor; drop --region (a region is on the whole desktop)")
    if flags.window is not None and flags.screen is not None:
        raise SettingError("--window", "records a window wherever it is; drop --screen")
    if flags.follow_mouse and flags.window is not None:
        raise SettingError("--follow-mouse", "x11grab cannot follow the pointer in a window; drop one of them")
    if flags.audio_tracks is not None and flags.audio_tracks not in tuple(AudioTracks):
        raise SettingError("--audio-tracks", f"{flags.audio_tracks!r} is not mix or separate")


def apply_targets(plan: RecordPlan, flags: TargetFlags, *, say: Say, platform: str = sys.platform) -> RecordPlan:
    """``plan`` recording the window, monitor or picked region ``flags`` ask for.

    Raises :class:`SettingError` (exit 2, nothing created) for targets that
    do not exist, a cancelled pick, or a target this platform cannot record.
    """
    check_combinations(flags)
    plan = _camera(_audio_tracks(plan, flags), flags, platform=platform)
    source = plan.source
    wants_target = flags.window is not None or flags.screen is not None or flags.region_pick or flags.follow_mouse
    if source.backend is Backend.LAVFI:
        if wants_target:
            raise SettingError("--source", "the test pattern has no windows or monitors; use --source screen")
        return plan
    if source.backend is Backend.X11GRAB:
        return _x11(plan, flags, say=say)
    if flags.region_pick:
        raise SettingError("--region", "pick needs X11; give the region as WxH+X+Y")
    if flags.follow_mouse:
        raise SettingError("--follow-mouse", "only x11grab follows the pointer; use --region WxH+X+Y")
    if flags.window is not None:
        if source.backend is Backend.AVFOUNDATION:
            raise SettingError("--window", "macOS's avfoundation cannot record one window; record its area with "
                                           "--region WxH+X+Y")
        if parse_window_id(flags.window) is not None or flags.window == PICK:
            raise SettingError("--window", "on Windows give the window's title (gdigrab title=NAME)")
        return replace(plan, source=replace(source, device=f"title={flags.window}", region=None))
    if flags.screen is not None:
        return replace(plan, source=_screen_elsewhere(source, flags.screen))
    return plan


def _audio_tracks(plan: RecordPlan, flags: TargetFlags) -> RecordPlan:
    audio = plan.audio
    if flags.audio_tracks is None or not isinstance(audio, AudioMix) or plan.bundle is not None:
        return plan  # a studio bundle always keeps each input on its own track
    return replace(plan, audio=replace(audio, tracks=AudioTracks(flags.audio_tracks)))


def _camera(plan: RecordPlan, flags: TargetFlags, *, platform: str) -> RecordPlan:
    """The camera: drawn in a corner of an instant recording; its own track in a studio bundle (where the
    corner and size are where ``caprec render`` draws it)."""
    if flags.camera is None:
        if flags.camera_position is not None or flags.camera_size is not None:
            raise SettingError("--camera-position" if flags.camera_position is not None else "--camera-size",
                               "places the camera; add --camera DEVICE (or test)")
        return plan
    camera = parse_camera(flags.camera, platform=platform, origin="--camera")
    if flags.camera_position is not None:
        camera = replace(camera, corner=parse_corner(flags.camera_position, origin="--camera-position"))
    if flags.camera_size is not None:
        camera = replace(camera, width=parse_camera_width(flags.camera_size, origin="--camera-size"))
    return replace(plan, source=replace(plan.source, camera=camera))


def _screen_elsewhere(source: VideoSource, choice: str) -> VideoSource:
    """macOS: ``Capture screen N``; Windows: only the whole desktop."""
    if source.backend is Backend.AVFOUNDATION:
        if choice.isdigit():
            return replace(source, device=avfoundation_screen_device(int(choice)))
        if choice.lower() == "all":
            raise SettingError("--screen", "avfoundation records one screen at a time; give its number "
                                           "(caprec devices)")
        return replace(source, device=choice)
    if choice.lower() == "all":
        return replace(source, device="desktop")
    raise SettingError("--screen", "on Windows record one monitor with --region WxH+X+Y (offsets from the primary "
                                   "monitor, negative left of or above it; caprec devices lists each monitor's)")


def _x11(plan: RecordPlan, flags: TargetFlags, *, say: Say) -> RecordPlan:
    source = plan.source
    display = source.device
    window: XWindow | None = None
    monitor: Monitor | None = None
    if flags.window is not None:
        window = _find_window(display, flags.window, say=say)
        source = replace(source, window_id=window.id, region=None)
    else:
        monitors = x11_monitors(display, read_x_screens(display))
        if flags.screen is not None:
            monitor = choose_monitor(flags.screen, monitors, origin="--screen")
        elif source.region is None and not flags.region_pick:
            monitor = default_monitor(monitors, display)
        if monitor is not None:
            source = replace(source, device=monitor.device, region=monitor.region)
        if flags.region_pick:
            source = replace(source, region=_pick_region(source.device, say=say))
    if flags.follow_mouse:
        if source.region is None:
            raise SettingError("--follow-mouse", "needs the size that follows the pointer: --region WxH+X+Y")
        source = replace(source, follow_mouse=True)
    plan = replace(plan, source=source)
    if plan.cursor is not None:
        plan = _cursor_for(plan, window=window, monitor=monitor)
    return plan


def _find_window(display: str, text: str, *, say: Say) -> XWindow:
    # Imported here: only a window target asks the X server about windows (a recording of the screen
    # imports this module before FFmpeg starts).
    from caprec.capture.platform.x11info import WindowGone, list_windows, window_info
    from caprec.capture.platform.x11pick import PickCancelled, pick_window

    if text == PICK:
        try:
            # Said once the pointer is grabbed: a click before that would go to the window itself.
            window_id = pick_window(display, on_ready=lambda: say(
                "click the window to record (Escape or a right click cancels)"))
        except PickCancelled as exc:
            raise SettingError("--window", f"pick: {exc}; nothing was recorded") from None
        say(f"picked window {window_id:#x} (record it again with --window {window_id:#x})")
    else:
        parsed = parse_window_id(text)
        if parsed is None:
            return choose_window(text, list_windows(display), origin="--window")
        window_id = parsed
    try:
        return window_info(display, window_id)
    except WindowGone:
        raise SettingError("--window", f"there is no window {window_id:#x} on {display}; "
                                       "list them with xwininfo -root -tree, or use --window pick") from None


def _pick_region(display: str, *, say: Say) -> Region:
    from caprec.capture.platform.x11pick import PickCancelled, pick_region

    try:
        picked = pick_region(display, on_ready=lambda: say(
            "drag a rectangle to record (Escape or a right click cancels)"))
    except PickCancelled as exc:
        raise SettingError("--region", f"pick: {exc}; nothing was recorded") from None
    region = even_region(picked, origin="--region")
    say(f"picked region {region} (record it again with --region {region})")
    return region


def _cursor_for(plan: RecordPlan, *, window: XWindow | None, monitor: Monitor | None) -> RecordPlan:
    """The cursor log's area: the window, the monitor or the region, so positions are relative to the video."""
    assert plan.cursor is not None
    source = plan.source
    area: Region | None
    if window is not None:
        area = Region(width=window.width - window.width % 2, height=window.height - window.height % 2,
                      x=window.x, y=window.y)
    elif source.follow_mouse:
        area = None  # the picture moves with the pointer: log positions on the whole screen
    else:
        area = source.region
    context = plan.cursor.context
    if monitor is not None and monitor.whole:
        # Another X screen (:0.1) has its own size.
        context = replace(context, screen_width=monitor.width, screen_height=monitor.height)
    if area is None:
        width, height = context.screen_width or 0, context.screen_height or 0
        area = Region(width=width - width % 2, height=height - height % 2)
    region = CursorRegion(x=area.x, y=area.y, width=area.width, height=area.height)
    return replace(plan, cursor=replace(plan.cursor, context=replace(context, region=region),
                                        display=source.device))
