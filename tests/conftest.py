"""Fixtures for caprec's tests: a real Xvfb display, a real PulseAudio server, caprec as a subprocess, ffprobe.

Tests use real parts: the system ffmpeg/ffprobe, Xvfb and PulseAudio servers started here and xdotool. The helpers
these fixtures use, and that tests import, live in ``tests/support/``.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import pytest
from support.env import scrubbed_environ
from support.media import Probe, ffprobe
from support.paths import REPO_ROOT
from support.process import kill_if_running, python_argv
from support.pulse import Pulse, start_pulse
from support.run import CAPREC_TIMEOUT_S, RunCaprec, SpawnCaprec
from support.xserver import XVFB_HEIGHT, XVFB_SCREEN, XVFB_WIDTH, XServer, start_xvfb


def pytest_configure(config: pytest.Config) -> None:
    """The tests run the checkout they are in: its install (``pip install -e .``), not another caprec."""
    import caprec

    where = Path(caprec.__file__).resolve()
    if not where.is_relative_to(REPO_ROOT):
        raise pytest.UsageError(f"caprec is imported from {where}, not from this checkout ({REPO_ROOT}); "
                                f"install it: pip install -e '{REPO_ROOT}[test]'")


@pytest.fixture(scope="session")
def xvfb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[XServer]:
    """A private Xvfb at 1280x720x24 for the whole session."""
    log = tmp_path_factory.mktemp("xvfb") / "xvfb.log"
    with start_xvfb(XVFB_SCREEN, log=log) as (_, display):
        env = scrubbed_environ()
        env["DISPLAY"] = display
        yield XServer(display=display, width=XVFB_WIDTH, height=XVFB_HEIGHT, env=env)


@pytest.fixture
def caprec_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment caprec runs in: no display, no CAPREC_* variable, an empty config directory."""
    env = scrubbed_environ()
    env["XDG_CONFIG_HOME"] = str(tmp_path_factory.mktemp("xdg-config"))
    env["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))  # the ffmpeg probe cache
    env["NO_COLOR"] = "1"
    return env


@pytest.fixture
def x_env(caprec_env: dict[str, str], xvfb: XServer) -> dict[str, str]:
    """caprec's environment pointed at the Xvfb display."""
    return {**caprec_env, "DISPLAY": xvfb.display}


@pytest.fixture
def run_caprec(caprec_env: dict[str, str]) -> RunCaprec:
    """Run ``python -m caprec ARGS`` to completion; text output, never a shell."""

    def run(args: Sequence[str], *, cwd: Path, env: Mapping[str, str] | None = None,
            timeout: float = CAPREC_TIMEOUT_S) -> subprocess.CompletedProcess[str]:
        return subprocess.run(python_argv(*args), cwd=cwd, env=dict(env if env is not None else caprec_env),
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout,
                              check=False)

    return run


@pytest.fixture
def spawn_caprec(caprec_env: dict[str, str]) -> Iterator[SpawnCaprec]:
    """Start ``python -m caprec ARGS`` in the background; killed and reaped at teardown if still running."""
    started: list[subprocess.Popen[bytes]] = []

    def spawn(args: Sequence[str], *, cwd: Path, env: Mapping[str, str] | None = None,
              stdout: int | None = subprocess.DEVNULL, stderr: int | None = subprocess.PIPE) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(python_argv(*args), cwd=cwd, env=dict(env if env is not None else caprec_env),
                                stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr)
        started.append(proc)
        return proc

    yield spawn
    for proc in started:
        kill_if_running(proc)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def probe() -> Callable[[Path], Probe]:
    """ffprobe(path) -> Probe(frames, duration, codec, width, height), frames counted by decoding."""
    if shutil.which("ffprobe") is None:
        pytest.fail("ffprobe is not installed (apt-get install ffmpeg)")
    return ffprobe


@pytest.fixture(scope="session")
def pulse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pulse]:
    """A private PulseAudio server for the session: sinks ``speakers`` and ``micsink``, source ``mic``."""
    with start_pulse(tmp_path_factory.mktemp("pulse")) as server:
        yield server
