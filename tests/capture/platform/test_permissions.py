"""macOS permissions: the no-first-frame message names what to grant; doctor asks without a prompt.

The permission answer is injected (there is no macOS here); the recorder
runs the scripted fake ffmpeg, which never produces a frame.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from caprec.capture.errors import NoFirstFrameError
from caprec.capture.ffmpeg.argv import AudioBackend, AudioSource, Backend, Encoding, VideoSource
from caprec.capture.ffmpeg.process import ManagedProcess
from caprec.capture.platform.doctor import CheckStatus, check_macos_permission
from caprec.capture.platform.permissions import no_first_frame_hint
from caprec.capture.record.segment import Target
from support.doctor import by_name, fake_checks
from support.fake_recorder import close_pipes, recorder_with
from support.process import reaped

MAC_SCREEN = VideoSource(Backend.AVFOUNDATION, device="Capture screen 0")
MAC_MIC = AudioSource(AudioBackend.AVFOUNDATION, device="0")


def test_screen_only_names_screen_recording() -> None:
    hint = no_first_frame_hint(MAC_SCREEN, None)
    assert "Screen Recording permission" in hint and "Microphone" not in hint
    assert "Privacy & Security > Screen Recording" in hint


def test_avfoundation_audio_names_microphone_too() -> None:
    hint = no_first_frame_hint(MAC_SCREEN, MAC_MIC)
    assert "Screen Recording and Microphone permission" in hint
    assert "Privacy & Security > Microphone" in hint
    # The test pattern with a Mac microphone: only Microphone.
    test_hint = no_first_frame_hint(VideoSource(Backend.LAVFI), MAC_MIC)
    assert "Microphone permission" in test_hint and "Screen Recording" not in test_hint


def test_other_platforms_are_not_told_about_macos() -> None:
    hint = no_first_frame_hint(VideoSource(Backend.X11GRAB, device=":0.0"), AudioSource(AudioBackend.PULSE))
    assert "macOS" not in hint and "caprec devices" in hint


def test_recorder_names_both_permissions_when_no_frame_comes(tmp_path: Path) -> None:
    started: list[ManagedProcess] = []
    with pytest.raises(NoFirstFrameError) as raised:
        recorder_with("obey-q", started, first_frame_timeout=0.5).record(
            MAC_SCREEN, Encoding(), Target(path=tmp_path / "out.mp4"), audio=MAC_MIC)
    message = str(raised.value)
    assert message.startswith("ffmpeg produced no frame within 0.5 s")
    assert "Screen Recording and Microphone permission" in message
    assert len(started) == 1 and reaped(started[0].pid)
    close_pipes(started[0])


@pytest.mark.parametrize(("answer", "status", "words"), [
    (True, CheckStatus.PASS, "granted"),
    (False, CheckStatus.FAIL, "not granted"),
    (None, CheckStatus.WARN, "could not be asked"),
])
def test_doctor_asks_for_screen_recording_without_a_prompt(answer: bool | None, status: CheckStatus,
                                                           words: str) -> None:
    asked: list[bool] = []

    def preflight() -> bool | None:
        asked.append(True)
        return answer

    check = check_macos_permission(preflight=preflight)
    assert asked == [True]
    assert check.status is status and words in check.detail
    assert "\n" not in check.detail


def test_doctor_on_macos_reports_the_answer(tmp_path: Path) -> None:
    checks = by_name(fake_checks(tmp_path, platform="darwin", environ={}, screen_permission=lambda: False))
    permission = checks["screen recording permission"]
    assert permission.status is CheckStatus.FAIL
    assert "System Settings > Privacy & Security > Screen Recording" in permission.detail
