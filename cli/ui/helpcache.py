"""Help pages from a cache: ``caprec --help`` and ``caprec record --help`` without importing Typer or rich.

A help page is a pure function of the command line, the terminal (width,
colours, a TTY or not) and caprec's code. Building it costs ~0.15-0.3 s of
CPU (Typer, rich and its Markdown support, the command's modules); the page
it prints is stored, and the next identical request prints those bytes
straight away. :mod:`caprec.entry` serves it before importing anything heavy.

* The entry's name comes from the command line and every variable and
  terminal property rich and Typer read (:data:`TERMINAL_VARIABLES`, TTYs,
  sizes, encoding); the entry holds a stamp of the code (caprec's files,
  Typer's and rich's, Python's version): another stamp is a miss, and the
  fresh page replaces the entry. So an entry per terminal shape, not per
  edit or upgrade.
* Only a plain help request is cached (command words, then ``--help`` or
  ``-h``), and only a page that was printed with exit status 0 and nothing
  on stderr.
* Storage is :class:`caprec.capture.ffmpeg.probe_cache.ProbeCache`'s: the user's
  cache directory, private, never through a symlink, written by exclusive
  create and rename. Any problem means "not cached".
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import sys
from collections.abc import Iterator, Mapping
from importlib.util import find_spec
from pathlib import Path
from typing import TextIO

from caprec.capture import __version__
from caprec.capture.ffmpeg.probe_cache import ProbeCache, default_cache_dir

HELP_OPTIONS = ("--help", "-h")
COMMAND_WORD = re.compile(r"[a-z][a-z-]*\Z")
# What rich, Typer and caprec read from the environment when printing help (beside the terminal itself).
TERMINAL_VARIABLES = (
    "COLORTERM", "COLUMNS", "DATABRICKS_RUNTIME_VERSION", "FORCE_COLOR", "GITHUB_ACTIONS", "JUPYTER_COLUMNS",
    "JUPYTER_LINES", "LINES", "NO_COLOR", "PY_COLORS", "TERM", "TERMINAL_WIDTH", "TTY_COMPATIBLE",
    "TTY_INTERACTIVE", "TYPER_USE_RICH", "UNICODE_VERSION", "_TYPER_FORCE_DISABLE_TERMINAL",
)
VARIABLE_PREFIXES = ("CAPREC_", "XDG_")
# The code a page comes from: caprec's packages, and the libraries that print it.
CODE_PACKAGES = ("caprec", "caprec.capture")
LIBRARY_FILES = (("typer", ("__init__.py", "core.py", "main.py", "rich_utils.py")),
                 ("rich", ("__init__.py", "console.py", "table.py", "panel.py", "text.py")))
ENTRY_PREFIX = "help-"


def is_help_request(args: list[str]) -> bool:
    """``[command words...] --help``: a request whose whole answer is a help page."""
    return bool(args) and args[-1] in HELP_OPTIONS and all(COMMAND_WORD.match(word) for word in args[:-1])


def _tree_stamp(root: Path) -> Iterator[str]:
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(directory, name)
                try:
                    info = os.stat(path)
                except OSError:
                    continue
                yield f"{path}:{info.st_size}:{info.st_mtime_ns}"


def code_stamp() -> str:
    """A digest of everything a help page comes from: any edit, upgrade or other Python is another stamp."""
    parts = [__version__, sys.version, sys.executable]
    for package in CODE_PACKAGES:
        spec = find_spec(package)
        for location in (spec.submodule_search_locations or []) if spec is not None else []:
            parts.extend(_tree_stamp(Path(location)))
    for library, names in LIBRARY_FILES:
        spec = find_spec(library)
        if spec is None or spec.origin is None:
            parts.append(f"{library}: missing")
            continue
        folder = Path(spec.origin).parent
        for name in names:
            try:
                info = os.stat(folder / name)
            except OSError:
                parts.append(f"{folder / name}: missing")
                continue
            parts.append(f"{folder / name}:{info.st_size}:{info.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _terminal(fd: int) -> list[object]:
    try:
        tty = os.isatty(fd)
        size = list(os.get_terminal_size(fd)) if tty else None
    except OSError:
        return ["closed"]
    return [tty, size]


def request_key(args: list[str], environ: Mapping[str, str], stdout: TextIO) -> str:
    """The entry name of a help request: its words, the variables and the terminal the page depends on."""
    variables = {name: value for name, value in environ.items()
                 if name in TERMINAL_VARIABLES or name.startswith(VARIABLE_PREFIXES)}
    request = {"args": args, "variables": sorted(variables.items()), "terminals": [_terminal(fd) for fd in (0, 1, 2)],
               "encoding": getattr(stdout, "encoding", None), "platform": sys.platform}
    return ENTRY_PREFIX + hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()[:32]


class Tee(io.TextIOBase):
    """A text stream that writes through to ``stream`` and keeps a copy; looks like ``stream`` to rich."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self.stream = stream
        self.parts: list[str] = []

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self.stream.encoding

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return self.stream.errors

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        written = self.stream.write(text)  # first: click probes with bytes, which a text stream refuses
        self.parts.append(text)
        return written

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return self.stream.isatty()

    def fileno(self) -> int:
        return self.stream.fileno()

    def text(self) -> str:
        return "".join(self.parts)


class HelpCache:
    """The cached page of one help request (see the module docstring)."""

    def __init__(self, cache: ProbeCache, key: str, stamp: str) -> None:
        self._cache = cache
        self._key = key
        self._stamp = stamp

    @classmethod
    def for_request(cls, args: list[str], environ: Mapping[str, str], stdout: TextIO) -> HelpCache:
        return cls(ProbeCache(default_cache_dir(environ)), request_key(args, environ, stdout), code_stamp())

    def get(self) -> str | None:
        """The page printed last time for this request by this code, or None."""
        entry = self._cache.get(self._key)
        if entry is None or entry.get("stamp") != self._stamp:
            return None
        page = entry.get("stdout")
        return page if isinstance(page, str) and page else None

    def put(self, page: str) -> None:
        """Keep ``page`` (replacing an entry from other code); silently nothing when it cannot."""
        if page:
            self._cache.put(self._key, {"stamp": self._stamp, "stdout": page})
