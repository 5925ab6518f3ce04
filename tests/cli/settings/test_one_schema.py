"""One schema: a batch plan's keys, the config file, the variables and the flags parse through one setting each.

A plan key that is also a ``caprec record`` setting must be that very setting (its TOML types, its parser, its
limits): a value the flag or the config file refuses, the plan refuses too, and the other way round.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from caprec.capture.errors import SettingError
from caprec.settings import schema as opt
from caprec.settings.batch_plan import CAPTURE_KEYS, PLAN_ONLY_KEYS, PLAN_SETTINGS, PlanError, parse_plan

# TOML values to try for each plan key that is a setting: valid ones, limits on both sides, wrong types.
SAMPLES: dict[str, list[Any]] = {
    "source": ["test", "screen", "bogus", 3],
    "region": ["100x100+0+0", "101x100+0+0", "nope", 100],
    "fps": [30, 29.97, "30", 0, 240, 241, "fast", True],
    "duration": [1, 0.5, "1m30s", "00:00:10", 0, -1, "7d", "8d", "soon", True],
    "mode": ["studio", "instant", "STUDIO", "turbo", 1],
    "audio": ["test", "none", " ", 1],
    "delay": [0, "0s", "00:00", 3600, "1h", 3601, "1h1s", "1m", -1, "soon", True, 1.5],
    "codec": ["libx264", "nope", 264],
    "preset": ["veryfast", "", 3],
    "crf": [23, "23", 0, 51, 52, -1, 2.5, "x"],
    "cursor": [True, False, "yes", 1],
}


def test_every_plan_key_is_a_setting_of_the_schema_or_only_the_plans() -> None:
    assert sorted(CAPTURE_KEYS) == sorted([*PLAN_SETTINGS, *PLAN_ONLY_KEYS])
    by_key = {setting.key: setting for setting in opt.SETTINGS}
    for key, setting in PLAN_SETTINGS.items():
        assert by_key[key] is setting, key  # the very setting: its parser and its limits, not a copy
    assert not set(PLAN_ONLY_KEYS) & set(by_key)
    # A new setting key in the plan needs samples below (output is the plan's own: a template, never stdout).
    assert sorted(SAMPLES) == sorted(set(PLAN_SETTINGS) - {opt.OUTPUT.key})


def plan_verdict(key: str, value: Any, base_dir: Path) -> Any:
    """What a plan makes of ``key = value``: the capture's field, or the problem's message (a str in a list)."""
    table = {"output": "a.mp4", "duration": 1, key: value}
    try:
        plan = parse_plan({"capture": [table]}, base_dir=base_dir)
    except PlanError as exc:
        assert [problem.key for problem in exc.problems] == [key], exc
        return [exc.problems[0].message]
    return getattr(plan.captures[0], key)


def config_verdict(key: str, value: Any, path: Path) -> Any:
    """What the config file makes of ``key = value``: the value, or the error's message (a str in a list)."""
    try:
        return opt.parse_config_value(PLAN_SETTINGS[key], value, path=path)
    except SettingError as exc:
        return [exc.detail]


@pytest.mark.parametrize("key", sorted(SAMPLES))
def test_a_plan_accepts_what_the_config_file_and_the_flag_accept_within_the_same_limits(key: str,
                                                                                         tmp_path: Path) -> None:
    setting = PLAN_SETTINGS[key]
    accepted = refused = 0
    for value in SAMPLES[key]:
        in_plan = plan_verdict(key, value, tmp_path)
        in_config = config_verdict(key, value, tmp_path / "config.toml")
        assert isinstance(in_plan, list) == isinstance(in_config, list), (key, value, in_plan, in_config)
        if isinstance(value, str) and str in setting.toml_types:  # the same text typed on the command line
            try:
                setting.parse(value, setting.flag)
            except SettingError:
                assert isinstance(in_config, list), (key, value)
            else:
                assert not isinstance(in_config, list), (key, value)
        if isinstance(in_plan, list):
            refused += 1
            if type(value) in setting.toml_types:  # the parser's own words, not a second schema's
                assert in_plan == in_config, (key, value)
        else:
            accepted += 1
            if isinstance(in_plan, float | int | bool) or in_plan is None:
                assert in_plan == in_config or (key == "audio" and in_config is None), (key, value)
    assert accepted and refused, f"{key}: the samples must try both sides"


def test_the_delay_limit_is_the_flags_in_a_plan(tmp_path: Path) -> None:
    """The issue's case: a plan took delay = "1m" up to 7 days while --delay took plain seconds up to 3600."""
    assert plan_verdict("delay", "1m", tmp_path) == 60.0 == opt.DELAY.parse("1m", "--delay")
    limit = f"use 0 to {opt.MAX_DELAY_S:g} seconds"
    assert limit in plan_verdict("delay", "2h", tmp_path)[0]
    with pytest.raises(SettingError, match=limit):
        opt.DELAY.parse("2h", "--delay")
