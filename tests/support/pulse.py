"""A private PulseAudio server: sinks ``speakers`` and ``micsink``, and a source ``mic`` fed by ``micsink``.

A test plays into a sink (:meth:`Pulse.play`); caprec records ``speakers.monitor`` (the desktop) and ``mic``.
The ``pulse`` fixture in ``conftest.py`` starts one for the session. When pulseaudio or pactl is missing the
tests skip with the reason, except under CI (the ``CI`` variable set), where they fail.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from support.polling import wait_until
from support.process import terminate_and_reap

FFMPEG = "/usr/bin/ffmpeg"
SAMPLE_RATE = 48000
PULSE_START_TIMEOUT_S = 20.0
PACTL_TIMEOUT_S = 10.0
START_POLL_INTERVAL_S = 0.1


@dataclass(frozen=True)
class Pulse:
    """A running PulseAudio server: the variables that point clients at it."""

    env: dict[str, str]

    def play(self, hz: int, sink: str) -> subprocess.Popen[bytes]:
        """A tone of ``hz`` played into ``sink`` in real time until killed."""
        return subprocess.Popen([FFMPEG, "-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi", "-i",
                                 f"sine=frequency={hz}:sample_rate={SAMPLE_RATE}", "-f", "pulse", "-device", sink,
                                 f"caprec-test-{hz}"], env={**os.environ, **self.env}, stdin=subprocess.DEVNULL)


def _server_answers(env: dict[str, str]) -> bool:
    result = subprocess.run(["pactl", "info"], env={**os.environ, **env}, capture_output=True,
                            timeout=PACTL_TIMEOUT_S, check=False)
    return result.returncode == 0


@contextlib.contextmanager
def start_pulse(home: Path) -> Iterator[Pulse]:
    """A PulseAudio server whose socket, runtime files and log live in ``home``; stopped and reaped afterwards."""
    for tool in ("pulseaudio", "pactl"):
        if shutil.which(tool) is None:
            if os.environ.get("CI"):
                pytest.fail(f"{tool} is not installed (CI must run the audio tests)")
            pytest.skip(f"{tool} is not installed (apt-get install pulseaudio pulseaudio-utils)")
    socket = home / "native"
    env = {"HOME": str(home), "XDG_RUNTIME_DIR": str(home), "PULSE_RUNTIME_PATH": str(home / "runtime"),
           "PULSE_SERVER": f"unix:{socket}"}
    modules = [f"module-native-protocol-unix socket={socket} auth-anonymous=1",
               "module-null-sink sink_name=speakers", "module-null-sink sink_name=micsink",
               "module-remap-source source_name=mic master=micsink.monitor"]
    argv = ["pulseaudio", "-n", "--daemonize=no", "--exit-idle-time=-1", "--system=no", "--disallow-exit",
            "--log-target=file:" + str(home / "pulse.log")]
    for module in modules:
        argv += ["-L", module]
    server = subprocess.Popen(argv, env={**os.environ, **env}, stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_until(lambda: server.poll() is not None or _server_answers(env), PULSE_START_TIMEOUT_S,
                   message="PulseAudio to answer", interval=START_POLL_INTERVAL_S)
        if server.poll() is not None:
            pytest.fail(f"pulseaudio exited: {(home / 'pulse.log').read_text(errors='replace')[-2000:]}")
        subprocess.run(["pactl", "set-default-sink", "speakers"], env={**os.environ, **env}, check=True,
                       timeout=PACTL_TIMEOUT_S)
        subprocess.run(["pactl", "set-default-source", "mic"], env={**os.environ, **env}, check=True,
                       timeout=PACTL_TIMEOUT_S)
        yield Pulse(env)
    finally:
        terminate_and_reap(server)
