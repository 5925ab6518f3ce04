"""Batch plans: several captures described in a TOML file, validated as a whole.

A plan is a list of ``[[capture]]`` tables plus optional ``[defaults]``::

    [defaults]
    source = "test"
    fps = 30

    [[capture]]
    output = "intro.mp4"
    duration = "5s"

    [[capture]]
    output = "clip-{n}.mp4"   # {n} is the repeat number, 1..repeat
    duration = 3
    repeat = 2
    delay = 1

:func:`load_plan` checks everything it can without FFmpeg (keys, types,
durations, the output template, outputs written twice, outputs that exist)
and reports every problem at once, each naming its capture and key, before
anything is recorded. A key that is also a ``caprec record`` setting (all but
``repeat`` and ``render``) is checked by that setting's TOML types and parser
(:data:`PLAN_SETTINGS`), so a plan accepts what the flag and the config file
accept, within the same limits; ``audio = false`` is the plan's way to say
``none``. What needs the machine (ffmpeg, the display) is checked by the
caller when it resolves each capture into a recording.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from caprec.capture.errors import SettingError
from caprec.capture.files.tempfiles import NAME_MAX
from caprec.capture.files.textfile import parse_toml, read_regular_file
from caprec.capture.record.spec import Mode
from caprec.settings import schema as opt
from caprec.settings.origins import Setting
from caprec.settings.schema import describe_toml

DEFAULT_MODE = opt.DEFAULT_MODE.value
# More runs than this from one table is a typo, not a plan.
MAX_REPEAT = 1000
STDOUT_OUTPUT = "-"
TOP_LEVEL_KEYS = ("capture", "defaults")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_N_FIELD = re.compile(r"^n(?::(?P<spec>[^{}]*))?$")
# Python's format spec for an int; only its width matters here.
_INT_SPEC = re.compile(r"^(?:.?[<>=^])?[-+ ]?z?#?0?(?P<width>\d*)[,_]?(?:\.\d+)?[bcdoxXn]?$", re.DOTALL)
# {n:03d} pads; {n:0>300} would make a name no filesystem takes (and a huge width, a hang).
MAX_N_WIDTH = 32
# 10,000 captures of a few lines each fit easily.
MAX_PLAN_BYTES = 16 * 1024 * 1024
#: The plan keys that are ``caprec record`` settings: each is checked by that setting's TOML types and parser.
PLAN_SETTINGS: dict[str, Setting[Any]] = {setting.key: setting for setting in (
    opt.OUTPUT, opt.SOURCE, opt.REGION, opt.FPS, opt.DURATION, opt.MODE, opt.AUDIO, opt.DELAY, opt.CODEC,
    opt.PRESET, opt.CRF, opt.CURSOR)}
#: The keys only a plan has.
PLAN_ONLY_KEYS = ("repeat", "render")
CAPTURE_KEYS = (*PLAN_SETTINGS, *PLAN_ONLY_KEYS)


@dataclass(frozen=True)
class PlanProblem:
    """One thing wrong with a plan, naming its culprit.

    ``index`` is the 1-based number of the ``[[capture]]`` table (None for
    the plan as a whole or its ``[defaults]``), ``output`` the capture's
    output as written or expanded, ``key`` the offending key.
    """

    message: str
    index: int | None = None
    output: str | None = None
    key: str | None = None
    section: str | None = None

    @property
    def where(self) -> str | None:
        """``capture 2 (clip-{n}.mp4)``, ``defaults``, or None for the plan as a whole."""
        if self.index is not None:
            return f"capture {self.index} ({self.output if self.output is not None else 'no output'})"
        return self.section

    def __str__(self) -> str:
        return ": ".join(part for part in (self.where, self.key, self.message) if part)


class PlanError(SettingError):
    """A plan that cannot run; ``problems`` lists every culprit, one line each.

    ``captures`` holds the runs that parsed without a problem, so a caller
    can check those further and report everything in one go.
    """

    def __init__(self, origin: str, problems: list[PlanProblem],
                 captures: tuple[CaptureSpec, ...] = ()) -> None:
        super().__init__(origin, "; ".join(str(problem) for problem in problems))
        self.problems = tuple(problems)
        self.captures = captures

    def lines(self) -> list[str]:
        """One message per problem, each prefixed with the plan's name."""
        return [f"{self.origin}: {problem}" for problem in self.problems]


@dataclass(frozen=True)
class CaptureSpec:
    """One recording of a plan, with its repeat expanded.

    ``output`` is absolute (relative names are taken from the plan's
    directory); ``name`` is the expanded output as written, for messages.
    ``source``, ``region``, ``codec``, ``preset``, ``crf`` and ``cursor``
    are passed on as written: the recorder validates them.
    """

    index: int
    n: int
    repeat: int
    name: str
    output: Path
    duration: float
    fps: float | None = None
    source: str | None = None
    region: str | None = None
    delay: float = 0.0
    mode: str = DEFAULT_MODE
    codec: str | None = None
    preset: str | None = None
    crf: int | None = None
    cursor: bool | None = None
    audio: str | None = None  # None: no audio
    render: Path | None = None  # studio: render the bundle into this file afterwards (caprec render)

    @property
    def label(self) -> str:
        """``capture 2 (clip-3.mp4)``: how messages name this run."""
        return f"capture {self.index} ({self.name})"


@dataclass(frozen=True)
class BatchPlan:
    """A validated plan: its file and its runs, in order."""

    path: Path
    captures: tuple[CaptureSpec, ...]


def load_plan(path: Path) -> BatchPlan:
    """Read and validate the plan at ``path``; raises :class:`PlanError` listing every problem."""
    origin = str(path)
    try:
        data = parse_toml(read_regular_file(path, limit=MAX_PLAN_BYTES).decode("utf-8"))
    except FileNotFoundError:
        raise PlanError(origin, [PlanProblem("no such file; give the path of a TOML plan")]) from None
    except IsADirectoryError:
        raise PlanError(origin, [PlanProblem("is a directory; give the path of a TOML plan")]) from None
    except UnicodeDecodeError:
        raise PlanError(origin, [PlanProblem("is not UTF-8 text; a plan is a TOML file")]) from None
    except OSError as exc:
        raise PlanError(origin, [PlanProblem(f"cannot be read ({exc.strerror})")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise PlanError(origin, [PlanProblem(f"is not valid TOML: {exc}")]) from None
    return parse_plan(data, base_dir=path.absolute().parent, origin=origin)


def parse_plan(data: Mapping[str, Any], *, base_dir: Path, origin: str = "plan") -> BatchPlan:
    """Validate parsed TOML ``data``; relative outputs are taken from ``base_dir``.

    Raises :class:`PlanError` with every problem found, in plan order.
    """
    problems: list[PlanProblem] = []
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            problems.append(PlanProblem(_unknown(key, TOP_LEVEL_KEYS, "top-level key"), key=key))
    defaults: Mapping[str, Any] = {}
    raw_defaults = data.get("defaults", {})
    if not isinstance(raw_defaults, Mapping):
        problems.append(PlanProblem(f"expected a [defaults] table, got {describe_toml(raw_defaults)}", key="defaults"))
    else:
        defaults = raw_defaults
        problems += _check_table(defaults, index=None, output=None, section="defaults")
    tables = data.get("capture")
    if tables is None:
        problems.append(PlanProblem("no captures; add a [[capture]] table with an output and a duration",
                                    key="capture"))
        tables = []
    elif isinstance(tables, Mapping) or not isinstance(tables, list) or not all(
            isinstance(table, Mapping) for table in tables):
        problems.append(PlanProblem(f"expected [[capture]] tables (an array of tables), got {describe_toml(tables)}",
                                    key="capture"))
        tables = []
    elif not tables:
        problems.append(PlanProblem("no captures; add a [[capture]] table", key="capture"))
    specs: list[CaptureSpec] = []
    for index, table in enumerate(tables, start=1):
        merged = {**defaults, **table}
        output = merged.get("output")
        shown = output if isinstance(output, str) else None
        problems += _check_table(table, index=index, output=shown, section=None)
        capture_problems, runs = _expand(merged, index=index, shown=shown, base_dir=base_dir)
        problems += capture_problems
        specs += runs
    output_problems = _check_outputs(specs)
    problems += output_problems
    if problems:
        clashing = {(problem.index, problem.output) for problem in output_problems}
        faulty = {problem.index for problem in problems if problem not in output_problems}
        fine = tuple(spec for spec in specs
                     if (spec.index, spec.name) not in clashing and spec.index not in faulty)
        raise PlanError(origin, problems, fine)
    return BatchPlan(path=Path(origin), captures=tuple(specs))


def expand_output(template: str, n: int) -> str:
    """``clip-{n}.mp4`` -> ``clip-2.mp4``; ``{n:02d}`` takes a format spec. Raises ValueError on bad fields."""
    def field(match: re.Match[str]) -> str:
        inner = _N_FIELD.match(match.group(1))
        if inner is None:
            raise ValueError(f"{{{match.group(1)}}} is not a placeholder; only {{n}} (the repeat number) is")
        spec = inner.group("spec") or "d"
        shape = _INT_SPEC.match(spec)
        if shape is not None and shape.group("width") and int(shape.group("width")) > MAX_N_WIDTH:
            raise ValueError(f"{{{match.group(1)}}} pads to {shape.group('width')} characters; "
                             f"use a width of at most {MAX_N_WIDTH}, such as {{n:03d}}")
        return format(n, spec)

    return _PLACEHOLDER.sub(field, template)


def _check_table(table: Mapping[str, Any], *, index: int | None, output: str | None,
                 section: str | None) -> list[PlanProblem]:
    """Unknown keys, wrong types and keys for later versions, in one table."""
    problems: list[PlanProblem] = []

    def problem(key: str, message: str) -> None:
        problems.append(PlanProblem(message, index=index, output=output, key=key, section=section))

    for key, value in table.items():
        if key not in CAPTURE_KEYS:
            problem(key, _unknown(key, CAPTURE_KEYS, "key"))
        elif (expected := _type_error(key, value)) is not None:
            problem(key, expected)
    return problems


def _type_error(key: str, value: Any) -> str | None:
    """Why ``value`` has the wrong TOML type for ``key``, or None."""
    setting = PLAN_SETTINGS.get(key)
    if setting is not None:
        ok = type(value) in setting.toml_types or (key == "audio" and value is False)
        wanted = f"{setting.expects} (e.g. {setting.example_toml})" + (", or false" if key == "audio" else "")
    elif key == "repeat":
        ok, wanted = isinstance(value, int) and not isinstance(value, bool), "a whole number"
    elif key == "render":
        ok, wanted = isinstance(value, bool | str), "true, false or the rendered file's name"
    else:  # pragma: no cover - every key in CAPTURE_KEYS is handled above
        return None
    return None if ok else f"expected {wanted}, got {describe_toml(value)}"


def _parse_settings(values: Mapping[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Each setting key of ``values`` through its setting's parser: the parsed values, and (key, why) problems.

    ``output`` is left to the plan (a template, never stdout); ``audio = false`` is ``none``.
    """
    parsed: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for key, raw in values.items():
        setting = PLAN_SETTINGS.get(key)
        if setting is None or key == opt.OUTPUT.key:
            continue
        try:
            parsed[key] = None if key == opt.AUDIO.key and raw is False else setting.parse(raw, key)
        except SettingError as exc:
            problems.append((key, exc.detail))
    return parsed, problems


def _expand(merged: Mapping[str, Any], *, index: int, shown: str | None,
            base_dir: Path) -> tuple[list[PlanProblem], list[CaptureSpec]]:
    """Required keys, values and the repeat of one capture.

    Keys of the wrong type were reported by :func:`_check_table` (where they
    were written, the capture or the defaults) and are skipped here, so one
    mistake is one line.
    """
    problems: list[PlanProblem] = []

    def problem(key: str, message: str) -> None:
        problems.append(PlanProblem(message, index=index, output=shown, key=key))

    unreadable = {key for key, value in merged.items()
                  if key in CAPTURE_KEYS and _type_error(key, value) is not None}
    values = {key: value for key, value in merged.items() if key not in unreadable}
    output = values.get("output")
    if output is None:
        if "output" not in unreadable:
            problem("output", "missing; every capture needs an output file, e.g. output = \"clip.mp4\"")
    elif output.strip() in ("", STDOUT_OUTPUT):
        problem("output", f"{output!r} is not a file name; a batch writes files (no '-' for stdout)")
        output = None
    parsed, setting_problems = _parse_settings(values)
    for key, why in setting_problems:
        problem(key, why)
    duration: float | None = parsed.get("duration")
    if "duration" not in values and "duration" not in unreadable:
        problem("duration", "missing; every capture needs a duration, e.g. duration = 5 or \"1m30s\"")
    mode: str = parsed["mode"].value if parsed.get("mode") is not None else DEFAULT_MODE
    repeat: int = values.get("repeat", 1)
    if not 1 <= repeat <= MAX_REPEAT:
        problem("repeat", f"{repeat} is out of range; use 1 to {MAX_REPEAT}")
        repeat = 1
    names: list[str] = []
    if output is not None:
        has_n = any(_N_FIELD.match(field) for field in _PLACEHOLDER.findall(output))
        if repeat > 1 and not has_n:
            problem("output", f"{output!r} has no {{n}}; with repeat = {repeat} every run needs its own "
                              "file, e.g. \"clip-{n}.mp4\"")
        else:
            try:
                names = [expand_output(output, n) for n in range(1, repeat + 1)]
            except ValueError as exc:
                problem("output", str(exc))
    render = values.get("render")
    if render and mode != Mode.STUDIO.value:
        problem("render", "renders a studio bundle; add mode = \"studio\" or drop render")
    if isinstance(render, str):
        try:
            expand_output(render, 1)
        except ValueError as exc:
            problem("render", str(exc))
    if problems or duration is None or unreadable:
        return problems, []
    runs = [CaptureSpec(index=index, n=n, repeat=repeat, name=name, output=(base_dir / name).absolute(),
                        duration=duration, fps=parsed.get("fps"), source=values.get("source"),
                        region=values.get("region"), delay=parsed.get("delay", 0.0), mode=mode,
                        codec=values.get("codec"), preset=values.get("preset"), crf=parsed.get("crf"),
                        cursor=parsed.get("cursor"), audio=values.get("audio") or None,
                        render=_render_output(render, name, n, base_dir))
            for n, name in enumerate(names, start=1)]
    return problems, runs


def _render_output(render: bool | str | None, name: str, n: int, base_dir: Path) -> Path | None:
    """Where run ``n`` is rendered: ``render = true`` gives the bundle's name with .mp4, a string that file."""
    if isinstance(render, str):
        return (base_dir / expand_output(render, n)).absolute()
    return (base_dir / name).with_suffix(".mp4").absolute() if render else None


def _check_outputs(specs: list[CaptureSpec]) -> list[PlanProblem]:
    """Two runs writing one file, and files that exist: both would lose a recording."""
    problems: list[PlanProblem] = []
    seen: dict[Path, CaptureSpec] = {}
    directories: dict[Path, Path] = {}
    for spec in specs:
        if len(os.fsencode(spec.output.name)) > NAME_MAX:
            problems.append(PlanProblem(f"the file name is {len(os.fsencode(spec.output.name))} bytes; file "
                                        f"systems take at most {NAME_MAX}: choose a shorter output",
                                        index=spec.index, output=spec.name, key="output"))
            continue
        key = resolve_directory(spec.output, directories)
        first = seen.setdefault(key, spec)
        if first is not spec:
            problems.append(PlanProblem(f"{spec.name} is also written by {first.label}; give each capture "
                                        "its own output", index=spec.index, output=spec.name, key="output"))
        elif spec.output.exists():
            problems.append(PlanProblem(f"{spec.output} already exists; remove it or choose another output",
                                        index=spec.index, output=spec.name, key="output"))
        if spec.render is not None and spec.render.exists():
            problems.append(PlanProblem(f"{spec.render} already exists; remove it or choose another render file",
                                        index=spec.index, output=spec.name, key="render"))
    return problems


def resolve_directory(path: Path, cache: dict[Path, Path]) -> Path:
    """``path`` with its directory resolved (links, ``..``), each directory once through ``cache``.

    The name itself is not followed: caprec never writes through a link
    there, it replaces it. Resolving one directory per plan instead of every
    path keeps a plan of 10,000 captures fast.
    """
    parent = path.absolute().parent
    real = cache.get(parent)
    if real is None:
        real = cache[parent] = parent.resolve()
    return real / path.name


def _unknown(key: str, known: tuple[str, ...], what: str) -> str:
    close = difflib.get_close_matches(key, known, n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"use one of {', '.join(known)}"
    return f"unknown {what}; {hint}"


__all__ = ["PLAN_ONLY_KEYS", "PLAN_SETTINGS", "BatchPlan", "CaptureSpec", "PlanError", "PlanProblem",
           "expand_output", "load_plan", "parse_plan", "resolve_directory"]
