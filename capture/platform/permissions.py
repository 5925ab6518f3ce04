"""macOS privacy permissions: what to ask for when FFmpeg gets no frame, and asking without a prompt.

macOS grants Screen Recording and Microphone access per app: the terminal
that runs caprec (and its ffmpeg). Without Screen Recording, avfoundation
delivers no frame (or, on some versions, frames of the wallpaper only: that
case cannot be told apart from a still desktop). Without Microphone,
avfoundation's audio input blocks forever, so no frame comes out either.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from caprec.capture.ffmpeg.argv import Audio, AudioBackend, AudioMix, Backend, VideoSource

SCREEN_RECORDING = "Screen Recording"
MICROPHONE = "Microphone"
SETTINGS_PATH = "System Settings > Privacy & Security"

#: Asks whether this process may capture the screen: True, False, or None when it cannot be asked.
ScreenPreflight = Callable[[], bool | None]


def needed_permissions(source: VideoSource, audio: Audio | None) -> list[str]:
    """The macOS permissions a recording of ``source`` (and ``audio``) needs, in the order to grant them."""
    needed = [SCREEN_RECORDING] if source.backend is Backend.AVFOUNDATION else []
    inputs = audio.inputs if isinstance(audio, AudioMix) else (audio,) if audio is not None else ()
    if any(one.backend is AudioBackend.AVFOUNDATION for one in inputs):
        needed.append(MICROPHONE)
    return needed


def no_first_frame_hint(source: VideoSource, audio: Audio | None) -> str:
    """What to do when FFmpeg produced no frame: the permissions on macOS, the device elsewhere."""
    needed = needed_permissions(source, audio)
    if not needed:
        return "check that the capture device works (caprec devices, caprec doctor)"
    names = " and ".join(needed)
    where = ", ".join(f"{SETTINGS_PATH} > {name}" for name in needed)
    return (f"macOS needs {names} permission for the app that runs caprec (your terminal): grant it in {where}, "
            "quit and reopen that app, and try again")


def screen_capture_preflight() -> bool | None:
    """macOS 10.15+: whether Screen Recording is granted, asked with CGPreflightScreenCaptureAccess (no prompt).

    None when it cannot be asked (pyobjc's Quartz missing, an older macOS).
    """
    try:
        quartz: Any = importlib.import_module("Quartz")
    except ImportError:
        return None
    preflight = getattr(quartz, "CGPreflightScreenCaptureAccess", None)
    if preflight is None:
        return None
    return bool(preflight())
