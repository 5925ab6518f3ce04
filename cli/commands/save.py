"""``caprec save``: save the last seconds of the running replay buffer and print the clip's path.

It finds the recorder by its runtime file (see :mod:`caprec.capture.replay.runtime`),
refuses when none or several run (listing them; ``--pid`` picks one), sends
it SIGUSR2 and waits for its answer. stdout gets the path and nothing else,
so ``caprec save | xargs ...`` works.
"""

from __future__ import annotations

from typing import Annotated

import typer
from caprec.boundary import run_guarded
from caprec.capture.errors import CaptureError, SettingError
from caprec.capture.replay.runtime import NoRecorderError, find_recorders, request_save, runtime_dir
from caprec.env import Environment
from caprec.exit import ExitStatus


def save(
    pid: Annotated[int | None, typer.Option(
        metavar="PID", help="The replay recorder to save, when several run (caprec save lists them).")] = None,
) -> None:
    """Save the last seconds of the running replay buffer (caprec record --replay); print the clip's path."""
    env = Environment()

    def body() -> int:
        directory = runtime_dir(env.environ)
        running = find_recorders(directory)
        if pid is not None:
            running = [info for info in running if info.pid == pid]
            if not running:
                raise NoRecorderError(f"no replay recorder with pid {pid} is running; run caprec save without "
                                      "--pid to list them")
        if not running:
            raise NoRecorderError("no replay recorder is running; start one with caprec record --replay 30s")
        if len(running) > 1:
            listed = "; ".join(info.describe() for info in running)
            raise SettingError("--pid", f"{len(running)} replay recorders are running ({listed}); choose one "
                                        "with --pid PID")
        answer = request_save(running[0], directory=directory)
        path = answer.get("path")
        if not isinstance(path, str):
            raise CaptureError(f"the replay recorder {running[0].pid} could not save: {answer.get('error')}")
        env.stdout.write(path + "\n")
        return ExitStatus.OK

    run_guarded(env, body)
