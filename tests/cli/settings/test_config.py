"""The config file: its location per platform, reading, atomic writing, and ``caprec config``.

Every test points CAPREC_CONFIG (or the platform variables) into tmp_path.
"""

from __future__ import annotations

import json
import os
import stat
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from caprec.app import app
from caprec.capture.errors import OutputError, SettingError
from caprec.settings import config as cfg
from caprec.settings import schema as opt
from caprec.settings.config import CONFIG_ENV
from support.env import isolate
from typer.testing import CliRunner


@pytest.fixture(autouse=True)
def config_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """No CAPREC_* variable from outside; CAPREC_CONFIG = tmp_path/conf/config.toml (absent)."""
    yield isolate(monkeypatch, config=tmp_path / "conf" / "config.toml", cwd=tmp_path)


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def leftovers(directory: Path) -> list[str]:
    """Temporary files an atomic write may have left behind."""
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


# Location -------------------------------------------------------------------

def test_caprec_config_wins_and_expands_home(tmp_path: Path) -> None:
    location = cfg.config_location(environ={CONFIG_ENV: "~/my.toml", "XDG_CONFIG_HOME": str(tmp_path)})
    assert location == cfg.ConfigLocation(Path.home() / "my.toml", CONFIG_ENV)


def test_empty_caprec_config_is_an_error_naming_it() -> None:
    with pytest.raises(SettingError, match=r"^CAPREC_CONFIG: is empty"):
        cfg.config_location(environ={CONFIG_ENV: ""})


@pytest.mark.parametrize(("platform", "environ", "expected"), [
    ("linux", {"XDG_CONFIG_HOME": "/xdg"}, "/xdg/caprec/config.toml"),
    ("linux", {"XDG_CONFIG_HOME": "relative/dir"}, "/home/me/.config/caprec/config.toml"),
    ("linux", {"XDG_CONFIG_HOME": ""}, "/home/me/.config/caprec/config.toml"),
    ("linux", {}, "/home/me/.config/caprec/config.toml"),
    ("freebsd14", {}, "/home/me/.config/caprec/config.toml"),
    ("darwin", {"XDG_CONFIG_HOME": "/xdg"}, "/home/me/Library/Application Support/caprec/config.toml"),
    ("win32", {"APPDATA": "/appdata"}, "/appdata/caprec/config.toml"),
    ("win32", {}, "/home/me/AppData/Roaming/caprec/config.toml"),
])
def test_platform_config_path(platform: str, environ: dict[str, str], expected: str) -> None:
    location = cfg.config_location(environ=environ, platform=platform, home=Path("/home/me"))
    assert location == cfg.ConfigLocation(Path(expected), "default")


# Reading ----------------------------------------------------------------------

def test_missing_file_is_an_empty_config(config_file: Path) -> None:
    values = cfg.read_config(config_file)
    assert values == opt.ConfigValues(path=config_file, values={}, exists=False)


def test_typed_values_are_read(config_file: Path) -> None:
    config_file.parent.mkdir()
    config_file.write_text('[record]\nfps = 29.97\ncursor = false\npipe_buffer = "4MiB"\ncrf = 20\n')
    values = cfg.read_config(config_file)
    assert values.exists and dict(values.values) == {"fps": 29.97, "cursor": False, "pipe_buffer": "4MiB",
                                                     "crf": 20}


def test_empty_file_and_empty_table_are_fine(config_file: Path) -> None:
    config_file.parent.mkdir()
    for text in ("", "[record]\n", "# nothing yet\n"):
        config_file.write_text(text)
        assert cfg.read_config(config_file).values == {}


@pytest.mark.parametrize(("data", "message"), [
    (b"[record]\nfsp = 3\n", "{path}: unknown key 'fsp' in [record] (did you mean 'fps'?); known keys: source, fps, "
                             "duration, region, codec, preset, crf, display, ffmpeg, pipe_buffer, cursor, "
                             "cursor_flush, output_dir, "
                             "delay"),
    (b"[record]\nfps = \"fast\"\n", "record.fps in {path}: 'fast' is not a number; use a frame rate such as 30"),
    (b"[record]\nfps = [30]\n", "record.fps in {path}: must be a number or a string (e.g. fps = 30), not an array"),
    (b"[record]\n[record.fps]\n", "record.fps in {path}: must be a number or a string (e.g. fps = 30), not a table"),
    (b"fps = 30\n", "{path}: key 'fps' must be in the [record] table"),
    (b"[cursor]\nflush = 1\n", "{path}: unknown key 'cursor'; caprec reads only the [record] table"),
    (b"fps = = 3\n", "{path}: not valid TOML ("),
    (b"[record]\nfps = 30\n\xff\n", "{path}: is not UTF-8 text"),
])
def test_bad_files_name_the_file_and_key(config_file: Path, data: bytes, message: str) -> None:
    config_file.parent.mkdir()
    config_file.write_bytes(data)
    with pytest.raises(SettingError) as info:
        cfg.read_config(config_file)
    assert str(info.value).startswith(message.format(path=config_file))


def test_a_directory_is_not_a_config_file(config_file: Path) -> None:
    config_file.mkdir(parents=True)
    with pytest.raises(SettingError, match="is a directory, not a config file"):
        cfg.read_config(config_file)


# Writing --------------------------------------------------------------------

def test_atomic_write_replaces_and_leaves_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "new" / "config.toml"
    cfg.save_document(path, {"record": {"fps": 30}})
    cfg.write_atomic(path, b"two\n")
    assert path.read_bytes() == b"two\n"
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask  # the user's umask, as open() would
    assert leftovers(path.parent) == []


def test_atomic_write_keeps_the_mode_and_follows_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "dotfiles" / "caprec.toml"
    real.parent.mkdir()
    real.write_bytes(b"old\n")
    real.chmod(0o600)
    link = tmp_path / "config.toml"
    link.symlink_to(real)
    cfg.save_document(link, {"record": {"fps": 30}})  # the user's own config: a dotfiles link is kept
    assert link.is_symlink() and "fps = 30" in real.read_text()
    assert stat.S_IMODE(real.stat().st_mode) == 0o600


def test_failed_write_keeps_the_old_file_and_no_temporary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b"old\n")

    def refuse(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OutputError, match=r"cannot write .*config.toml: No space left on device"):
        cfg.save_document(path, {"record": {"fps": 30}})
    assert path.read_bytes() == b"old\n"
    assert leftovers(tmp_path) == []


def test_init_writes_defaults_that_resolve_like_no_file(config_file: Path) -> None:
    written = cfg.init_config(config_file)
    assert written == {"source": "screen", "fps": 30, "codec": "libx264", "pipe_buffer": "1MiB",
                       "cursor_flush": 1, "delay": 0}
    text = config_file.read_text()
    assert text.startswith("# caprec configuration")
    assert "#   duration = \"1m30s\"" in text
    assert tomllib.loads(text) == {"record": written}
    with_file = opt.resolve_settings(flags={}, environ={}, config=cfg.read_config(config_file))
    without = opt.resolve_settings(flags={}, environ={}, config=None)
    assert [e.value for e in with_file] == [e.value for e in without]


def test_init_refuses_an_existing_file_without_force(config_file: Path) -> None:
    config_file.parent.mkdir()
    config_file.write_text("[record]\nfps = 60\n")
    with pytest.raises(OutputError, match="already exists; pass --force"):
        cfg.init_config(config_file)
    assert config_file.read_text() == "[record]\nfps = 60\n"
    cfg.init_config(config_file, force=True)
    assert tomllib.loads(config_file.read_text())["record"]["fps"] == 30


def test_set_keeps_other_keys_and_stores_typed_values(config_file: Path) -> None:
    assert cfg.set_config_value(config_file, "fps", "60") == ("fps", 60)
    assert cfg.set_config_value(config_file, "pipe-buffer", "4MiB") == ("pipe_buffer", "4MiB")
    assert cfg.set_config_value(config_file, "cursor", "off") == ("cursor", False)
    assert tomllib.loads(config_file.read_text()) == {"record": {"fps": 60, "pipe_buffer": "4MiB", "cursor": False}}


def test_unset_removes_known_and_unknown_keys(config_file: Path) -> None:
    config_file.parent.mkdir()
    config_file.write_text("[record]\nfps = 60\nfsp = 3\n")
    assert cfg.unset_config_value(config_file, "fsp")
    assert cfg.unset_config_value(config_file, "fps")
    assert not cfg.unset_config_value(config_file, "fps")
    assert cfg.read_config(config_file).values == {}


# caprec config ----------------------------------------------------------------

def test_config_path_prints_the_path(config_file: Path) -> None:
    result = invoke("config", "path")
    assert result.exit_code == 0
    assert result.stdout == f"{config_file}\n"


def test_config_init_then_refuse_then_force(config_file: Path) -> None:
    result = invoke("config", "init")
    assert result.exit_code == 0, result.output
    assert result.stderr == f"wrote {config_file} (6 settings)\n"
    first = config_file.read_bytes()
    result = invoke("config", "init")
    assert result.exit_code == 2
    assert result.stderr == f"error: {config_file} already exists; pass --force to replace it\n"
    assert config_file.read_bytes() == first
    assert invoke("config", "init", "--force").exit_code == 0


def test_config_set_validates_with_the_settings_parser(config_file: Path) -> None:
    result = invoke("config", "set", "fps", "60")
    assert result.exit_code == 0, result.output
    assert result.stderr == f"set fps = 60 in {config_file}\n"
    for args, message in [
        (("fps", "abc"), "error: fps: 'abc' is not a number; use a frame rate such as 30"),
        (("fps", "0"), "error: fps: 0 is out of range; use a frame rate from 1 to 240"),
        (("crf", "99"), "error: crf: 99 is out of range; use 0 (best) to 51 (smallest)"),
        (("cursor", "maybe"), "error: cursor: 'maybe' is not a yes/no value"),
        (("region", "1281x720+0+0"), "error: region: '1281x720+0+0' has an odd width or height"),
        (("fsp", "3"), f"error: {config_file}: unknown key 'fsp' (did you mean 'fps'?); known keys: source, fps, "),
        (("output", "x.mp4"), f"error: {config_file}: unknown key 'output'"),
        (("overwrite", "yes"), f"error: {config_file}: unknown key 'overwrite'"),
    ]:
        before = config_file.read_bytes()
        result = invoke("config", "set", *args)
        assert result.exit_code == 2, args
        assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith(message), result.stderr
        assert config_file.read_bytes() == before


def test_config_set_creates_nothing_on_a_bad_value(config_file: Path) -> None:
    result = invoke("config", "set", "fps", "-1")
    assert result.exit_code == 2
    assert not config_file.parent.exists()


def test_config_set_notes_a_variable_that_overrides_it(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAPREC_FPS", "24")
    result = invoke("config", "set", "fps", "60")
    assert result.exit_code == 0
    assert "note: CAPREC_FPS is set and takes precedence over the config file" in result.stderr


def test_config_show_table_names_each_origin(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert invoke("config", "set", "fps", "60").exit_code == 0
    monkeypatch.setenv("CAPREC_CRF", "20")
    result = invoke("config", "show")
    assert result.exit_code == 0, result.output
    rows = {line.split("│")[1].strip(): [cell.strip() for cell in line.split("│")[2:4]]
            for line in result.stdout.splitlines() if line.startswith("│") and line.split("│")[1].strip()}
    assert rows["fps"] == ["60", "config file"]
    assert rows["crf"] == ["20", "CAPREC_CRF"]
    assert rows["codec"] == ["libx264", "default"]
    assert str(config_file) in result.stdout.splitlines()[0]


def test_config_show_json(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert invoke("config", "set", "duration", "1m30s").exit_code == 0
    monkeypatch.setenv("CAPREC_REGION", "640x480+0+0")
    result = invoke("config", "show", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["config_file"] == str(config_file) and data["config_file_exists"] is True
    assert data["config_file_origin"] == CONFIG_ENV
    settings = data["settings"]
    assert list(settings) == [s.key for s in opt.configurable_settings()]
    assert settings["duration"] == {"value": 90.0, "origin": f"config {config_file}", "origin_kind": "config",
                                    "flag": "--duration", "env": ["CAPREC_DURATION"]}
    assert settings["region"]["value"] == "640x480+0+0" and settings["region"]["origin"] == "CAPREC_REGION"
    assert settings["fps"]["value"] == 30.0 and settings["fps"]["origin"] == "default"


def test_config_show_reports_a_bad_file(config_file: Path) -> None:
    config_file.parent.mkdir()
    config_file.write_text("[record]\nfsp = 3\n")
    result = invoke("config", "show")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {config_file}: unknown key 'fsp' in [record]")
    assert result.stdout == ""


def test_config_unset_command(config_file: Path) -> None:
    assert invoke("config", "set", "fps", "60").exit_code == 0
    result = invoke("config", "unset", "fps")
    assert result.exit_code == 0 and result.stderr == f"removed fps from {config_file}\n"
    result = invoke("config", "unset", "fps")
    assert result.exit_code == 0 and result.stderr == f"fps was not set in {config_file}\n"


def test_record_reads_what_config_set_wrote(config_file: Path) -> None:
    assert invoke("config", "set", "fps", "12").exit_code == 0
    result = invoke("record", "--source", "test", "--dry-run", "-o", "-")
    assert result.exit_code == 0, result.output
    assert "rate=12 " in result.stdout
