"""Runtime files: how ``caprec save`` finds a running replay recorder and gets its answer.

A replay recorder keeps ``replay-<pid>.json`` (its pid, the process's start
time, where clips go) in the user's runtime directory (platformdirs:
``$XDG_RUNTIME_DIR/caprec``), created exclusively and removed at exit. To
save, a client creates ``save-<pid>-<token>.request`` there and sends the
recorder SIGUSR2; after the save the recorder writes
``save-<pid>-<token>.answer`` (JSON: the clip's path or the error) and the
client, which polls for it, prints it and removes both files.

The directory must be a private directory of this user (mode 0700, not a
symlink); caprec creates it so and refuses one that is not. A runtime file
whose process is gone (or whose pid now belongs to another process: the start
time differs) is stale and is removed when found.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import stat
import sys
import time
import uuid
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from caprec.capture.errors import CaptureError
from caprec.capture.files.atomic import write_atomic

APP_NAME = "caprec"
RUNTIME_PREFIX = "replay-"
RUNTIME_SUFFIX = ".json"
REQUEST_SUFFIX = ".request"
ANSWER_SUFFIX = ".answer"
SAVE_SIGNAL: signal.Signals | None = getattr(signal, "SIGUSR2", None)
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
POLL_S = 0.05
# A save writes a clip (stream copy and read-back of up to --replay-max-memory): allow for a large one.
ANSWER_TIMEOUT_S = 120.0
_EXCLUSIVE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)


class RuntimeDirError(CaptureError):
    """The runtime directory is unusable (not private, not creatable)."""


class NoRecorderError(CaptureError):
    """No replay recorder is running (exit code 1: nothing to do, not bad input)."""


@dataclass(frozen=True)
class RecorderInfo:
    """A running replay recorder, as its runtime file describes it."""

    pid: int
    pattern: str
    seconds: float
    started: str
    path: Path

    def describe(self) -> str:
        return f"pid {self.pid} (last {self.seconds:g} s -> {self.pattern}, since {self.started})"


def runtime_dir(environ: Mapping[str, str] | None = None, *, platform: str = sys.platform) -> Path:
    """The user's runtime directory for caprec, created private (0700) if missing, checked if not.

    On Windows the directory is in the user's profile (%LOCALAPPDATA%), kept
    private by its access list, and Python reports mode 0777 for every
    directory there: only that it is a real directory is checked.
    """
    env = os.environ if environ is None else environ
    base = env.get("XDG_RUNTIME_DIR")
    if base:
        directory = Path(base) / APP_NAME
    else:
        import platformdirs

        with warnings.catch_warnings():
            # Without XDG_RUNTIME_DIR platformdirs warns and falls back to /tmp/runtime-<uid>: checked below.
            warnings.simplefilter("ignore")
            directory = Path(platformdirs.user_runtime_dir(APP_NAME))
        _private_dir(directory.parent, platform=platform)
    _private_dir(directory, platform=platform)
    return directory


def _private_dir(path: Path, *, platform: str) -> None:
    """Create ``path`` with mode 0700, or check that it is a private directory of this user."""
    try:
        os.mkdir(path, PRIVATE_DIR_MODE)
    except FileExistsError:
        pass
    except OSError as exc:
        raise RuntimeDirError(f"cannot create the runtime directory {path} ({exc.strerror or exc}); "
                              "set XDG_RUNTIME_DIR to a private directory") from None
    info = os.lstat(path)
    uid = os.getuid() if hasattr(os, "getuid") else info.st_uid
    # Windows has no owner or mode bits to check here (st_uid is 0, the mode always 0777): see runtime_dir.
    shared = platform != "win32" and (info.st_uid != uid or stat.S_IMODE(info.st_mode) & 0o077)
    if not stat.S_ISDIR(info.st_mode) or shared:
        raise RuntimeDirError(f"{path} is not a private directory of this user (mode 0700, not a symlink); "
                              "remove it or set XDG_RUNTIME_DIR to a private directory")


def process_start_token(pid: int) -> str | None:
    """When process ``pid`` started (Linux: /proc/<pid>/stat field 22), to tell a reused pid apart."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        text = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    fields = text[text.rfind(")") + 2:].split()
    return fields[19] if len(fields) > 19 else None


def _alive(pid: int, token: str | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False  # another user's process with a reused pid: not ours
    return token is None or process_start_token(pid) == token


class RuntimeFile:
    """The recorder's side: ``replay-<pid>.json`` while inside; answers save requests.

    Use as a context manager; the file (and any request not answered) is
    removed on exit.
    """

    def __init__(self, *, pattern: str, seconds: float, directory: Path, pid: int | None = None) -> None:
        self.directory = directory
        self.pid = os.getpid() if pid is None else pid
        self.path = directory / f"{RUNTIME_PREFIX}{self.pid}{RUNTIME_SUFFIX}"
        self._document = {"pid": self.pid, "start": process_start_token(self.pid), "pattern": pattern,
                          "seconds": seconds, "started": time.strftime("%Y-%m-%d %H:%M:%S")}

    def __enter__(self) -> RuntimeFile:
        data = json.dumps(self._document).encode()
        for _ in range(2):
            try:
                fd = os.open(self.path, _EXCLUSIVE, PRIVATE_FILE_MODE)
            except FileExistsError:
                self.path.unlink()  # a stale file of a dead process that had our pid
                continue
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            return self
        raise RuntimeDirError(f"cannot create {self.path}")

    def __exit__(self, *exc_info: object) -> None:
        # A client still waiting sees this process gone and says so; nothing is left behind.
        for request in self._requests():
            request.unlink(missing_ok=True)
        self.path.unlink(missing_ok=True)

    def _requests(self, *, before: float | None = None) -> list[Path]:
        found: list[tuple[float, Path]] = []
        for entry in self.directory.glob(f"save-{self.pid}-*{REQUEST_SUFFIX}"):
            with contextlib.suppress(FileNotFoundError):
                mtime = entry.lstat().st_mtime
                if before is None or mtime <= before:
                    found.append((mtime, entry))
        return [path for _, path in sorted(found)]

    def answer(self, answer: dict[str, Any], *, taken_at: float) -> bool:
        """Answer the oldest request made before ``taken_at`` (Unix time); False if there was none."""
        requests = self._requests(before=taken_at)
        if not requests:
            return False
        self._write_answer(requests[0], answer)
        return True

    def _write_answer(self, request: Path, answer: dict[str, Any]) -> None:
        with contextlib.suppress(OSError):
            write_atomic(request.with_suffix(ANSWER_SUFFIX), json.dumps(answer).encode(), durable=False)
            request.unlink()


def find_recorders(directory: Path) -> list[RecorderInfo]:
    """The replay recorders running now, oldest first; stale runtime files are removed."""
    found: list[RecorderInfo] = []
    for entry in sorted(directory.glob(f"{RUNTIME_PREFIX}*{RUNTIME_SUFFIX}")):
        try:
            document = json.loads(entry.read_bytes())
            pid = int(document["pid"])
            token = document.get("start")
            info = RecorderInfo(pid=pid, pattern=str(document.get("pattern", "?")),
                                seconds=float(document.get("seconds", 0)), started=str(document.get("started", "?")),
                                path=entry)
        except (OSError, ValueError, KeyError, TypeError):
            continue  # being written right now, or not ours to read
        if _alive(pid, token if isinstance(token, str) else None):
            found.append(info)
        else:
            entry.unlink(missing_ok=True)
    return found


def request_save(recorder: RecorderInfo, *, directory: Path, timeout: float = ANSWER_TIMEOUT_S) -> dict[str, Any]:
    """Ask ``recorder`` for a save and wait for its answer (``path`` or ``error``).

    Raises :class:`NoRecorderError` if it stopped meanwhile, :class:`CaptureError` on a timeout.
    """
    if SAVE_SIGNAL is None:
        raise CaptureError("saving a running replay needs SIGUSR2, which this platform does not have")
    stem = directory / f"save-{recorder.pid}-{uuid.uuid4().hex[:12]}"
    request, answer = stem.with_suffix(REQUEST_SUFFIX), stem.with_suffix(ANSWER_SUFFIX)
    os.close(os.open(request, _EXCLUSIVE, PRIVATE_FILE_MODE))
    try:
        try:
            os.kill(recorder.pid, SAVE_SIGNAL)
        except ProcessLookupError:
            raise NoRecorderError(f"the replay recorder {recorder.pid} stopped; nothing was saved") from None
        deadline = time.monotonic() + timeout
        while True:
            alive = _alive(recorder.pid, None)  # before reading: an answer written just before exit counts
            with contextlib.suppress(FileNotFoundError, ValueError):
                result: dict[str, Any] = json.loads(answer.read_bytes())
                return result
            if not alive:
                raise NoRecorderError(f"the replay recorder {recorder.pid} stopped before saving")
            if time.monotonic() >= deadline:
                raise CaptureError(f"the replay recorder {recorder.pid} did not answer within {timeout:g} s")
            time.sleep(POLL_S)
    finally:
        request.unlink(missing_ok=True)
        answer.unlink(missing_ok=True)
