"""Finding ffmpeg: --ffmpeg, then CAPREC_FFMPEG, then PATH, then imageio-ffmpeg's binary."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from caprec.boundary import describe
from caprec.capture.errors import FFmpegNotFoundError
from caprec.capture.ffmpeg.binary import EXPLICIT_ORIGIN, FFmpegBinary, Probe, find_ffmpeg, probe_ffmpeg, probe_version
from support.fake_ffmpeg import wrapped_ffmpeg

ENCODERS = frozenset({"libx264", "h264_nvenc"})


@dataclass
class World:
    """Fake collaborators: what ``which`` finds, which binaries run, what is bundled."""

    on_path: dict[str, str] = field(default_factory=dict)
    working: dict[str, str] = field(default_factory=dict)
    packaged: str | None = None
    checked: list[str] = field(default_factory=list)
    bundled_calls: int = 0

    def which(self, name: str) -> str | None:
        return self.on_path.get(name)

    def bundled(self) -> str | None:
        self.bundled_calls += 1
        return self.packaged

    def probe(self, path: str) -> Probe | None:
        self.checked.append(path)
        version = self.working.get(path)
        return None if version is None else Probe(version=version, encoders=ENCODERS)

    def find(self, explicit: str | None = None, origin: str = EXPLICIT_ORIGIN) -> FFmpegBinary:
        return find_ffmpeg(explicit=explicit, explicit_origin=origin, which=self.which, bundled=self.bundled,
                           probe=self.probe)


def everything_works() -> World:
    return World(
        on_path={"ffmpeg": "/usr/bin/ffmpeg", "my-ffmpeg": "/home/u/bin/my-ffmpeg"},
        working={"/usr/bin/ffmpeg": "5.1.9", "/home/u/bin/my-ffmpeg": "7.1", "/env/ffmpeg": "6.0",
                 "/bundled/ffmpeg": "9.0.2"},
        packaged="/bundled/ffmpeg",
    )


def test_an_explicit_binary_beats_path_and_bundled() -> None:
    world = everything_works()
    found = world.find(explicit="my-ffmpeg")
    assert found == FFmpegBinary("/home/u/bin/my-ffmpeg", "7.1", "`ffmpeg`")
    assert found.encoders == ENCODERS
    assert world.checked == ["/home/u/bin/my-ffmpeg"]  # nothing else was even tried
    assert world.bundled_calls == 0


def test_an_explicit_binary_keeps_the_origin_its_caller_names() -> None:
    """The engine reads no variable: the application resolves CAPREC_FFMPEG and says where it came from."""
    world = everything_works()
    found = world.find(explicit="/env/ffmpeg", origin="CAPREC_FFMPEG")
    assert (found.path, found.version, found.origin) == ("/env/ffmpeg", "6.0", "CAPREC_FFMPEG")
    assert world.checked == ["/env/ffmpeg"]


def test_an_empty_explicit_value_falls_back_to_path() -> None:
    world = everything_works()
    assert world.find(explicit="", origin="CAPREC_FFMPEG").origin == "PATH"


def test_path_beats_bundled() -> None:
    world = everything_works()
    found = world.find()
    assert (found.path, found.origin) == ("/usr/bin/ffmpeg", "PATH")
    assert world.bundled_calls == 0


def test_bundled_when_path_has_none() -> None:
    world = everything_works()
    del world.on_path["ffmpeg"]
    found = world.find()
    assert (found.path, found.version, found.origin) == ("/bundled/ffmpeg", "9.0.2", "imageio-ffmpeg")


def test_bundled_when_path_ffmpeg_is_broken() -> None:
    world = everything_works()
    del world.working["/usr/bin/ffmpeg"]
    found = world.find()
    assert found.origin == "imageio-ffmpeg"
    assert world.checked == ["/usr/bin/ffmpeg", "/bundled/ffmpeg"]


def test_broken_flag_is_an_error_that_names_it_without_fallback() -> None:
    world = everything_works()
    with pytest.raises(FFmpegNotFoundError) as info:
        world.find(explicit="/opt/broken/ffmpeg")
    message = str(info.value)
    assert message == "`ffmpeg` names '/opt/broken/ffmpeg', which is not a working ffmpeg; fix the path or remove it"
    assert describe(info.value).startswith("--ffmpeg names '/opt/broken/ffmpeg'")
    assert world.checked == ["/opt/broken/ffmpeg"]
    assert world.bundled_calls == 0


def test_broken_variable_is_an_error_that_names_it_without_fallback() -> None:
    world = everything_works()
    with pytest.raises(FFmpegNotFoundError) as info:
        world.find(explicit="/nonexistent", origin="CAPREC_FFMPEG")
    assert str(info.value) == (
        "CAPREC_FFMPEG names '/nonexistent', which is not a working ffmpeg; fix the path or remove it"
    )
    assert world.checked == ["/nonexistent"]
    assert world.bundled_calls == 0


def test_nothing_found_lists_what_was_tried_and_the_fix() -> None:
    world = World()
    with pytest.raises(FFmpegNotFoundError) as info:
        world.find()
    assert str(info.value) == (
        "no usable ffmpeg: tried ffmpeg on PATH (not found), imageio-ffmpeg's binary (not installed); "
        "install ffmpeg (apt-get install ffmpeg, brew install ffmpeg) or pass `ffmpeg` PATH"
    )


def test_nothing_working_names_the_broken_binaries() -> None:
    world = World(on_path={"ffmpeg": "/usr/bin/ffmpeg"}, packaged="/bundled/ffmpeg")
    with pytest.raises(FFmpegNotFoundError) as info:
        world.find()
    message = str(info.value)
    assert "tried /usr/bin/ffmpeg (does not run), imageio-ffmpeg's /bundled/ffmpeg (does not run)" in message
    assert "`ffmpeg` PATH" in message


@pytest.mark.parametrize(("version", "major"), [("5.1.9-0+deb12u1", 5), ("n7.0.2", 7), ("9.0.2-static", 9),
                                                ("N-112345-gdeadbeef", None), ("git-2024-01-01", None)])
def test_major_version(version: str, major: int | None) -> None:
    assert FFmpegBinary("/x/ffmpeg", version, "PATH").major == major


# --- The real thing ---------------------------------------------------------------------

def _real_ffmpeg() -> str:
    path = shutil.which("ffmpeg")
    if path is None:
        pytest.fail("ffmpeg is not installed (apt-get install ffmpeg)")
    return path


def test_real_ffmpeg_on_path() -> None:
    path = _real_ffmpeg()
    found = find_ffmpeg()
    assert (found.path, found.origin) == (path, "PATH")
    first_line = subprocess.run([path, "-version"], capture_output=True, text=True, check=True).stdout.splitlines()[0]
    assert first_line.startswith(f"ffmpeg version {found.version} ")
    assert found.major is not None and found.major >= 4
    assert {"libx264", "rawvideo"} <= found.encoders
    assert "aac" not in found.encoders  # video encoders only


def test_real_variable_and_flag(tmp_path: Path) -> None:
    path = _real_ffmpeg()
    link = tmp_path / "ff"
    link.symlink_to(path)
    via_env = find_ffmpeg(explicit=str(link), explicit_origin="CAPREC_FFMPEG")
    assert (via_env.path, via_env.origin) == (str(link), "CAPREC_FFMPEG")
    via_flag = find_ffmpeg(explicit=str(link))
    assert (via_flag.path, via_flag.origin) == (str(link), "`ffmpeg`")


def test_real_probe_rejects_what_is_not_ffmpeg(tmp_path: Path) -> None:
    not_executable = tmp_path / "ffmpeg"
    not_executable.write_text("#!/bin/sh\necho 'ffmpeg version 1.0'\n")
    impostor = tmp_path / "impostor"
    impostor.write_text("#!/bin/sh\necho 'hello'\n")
    impostor.chmod(0o755)
    failing = tmp_path / "failing"
    failing.write_text("#!/bin/sh\necho 'ffmpeg version 1.0'\nexit 1\n")
    failing.chmod(0o755)
    for path in (tmp_path / "missing", not_executable, impostor, failing, tmp_path):
        assert probe_version(str(path)) is None, path
    assert probe_ffmpeg(str(tmp_path / "missing")) is None
    with pytest.raises(FFmpegNotFoundError, match=re.escape(f"`ffmpeg` names '{impostor}'")):
        find_ffmpeg(explicit=str(impostor))


def test_real_probe_accepts_a_wrapper(tmp_path: Path) -> None:
    wrapper = wrapped_ffmpeg(tmp_path / "ffmpeg-wrapper")
    found = find_ffmpeg(explicit=str(wrapper))
    assert found.version == probe_version(_real_ffmpeg())
    assert "libx264" in found.encoders
