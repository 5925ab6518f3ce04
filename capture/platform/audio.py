"""What ``--audio DEVICE`` names, per platform: a pure mapping to an :class:`AudioSource`.

======================  ==========================================================
``test``                FFmpeg's 440 Hz tone (lavfi), on every platform
Linux and other Unix    ``pulse:NAME`` or a bare ``NAME``: PulseAudio/PipeWire
                        source NAME (``default`` is the default source);
                        ``alsa:NAME``: ALSA device NAME (``alsa:hw:0,0``)
macOS                   an avfoundation audio index (``0``) or name; ``default``
Windows                 a DirectShow audio device name (``caprec devices``)
======================  ==========================================================

``none`` (no audio) is handled by the setting, not here. Every error names
the origin (``--audio``, ``CAPREC_AUDIO``, a config key) and what to write
instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from caprec.capture.errors import SettingError
from caprec.capture.ffmpeg.argv import AudioBackend, AudioSource

AUDIO_TEST = "test"
AUDIO_DEFAULT = "default"
PREFIX_SEPARATOR = ":"
#: ``prefix:NAME`` spellings understood on Linux.
LINUX_PREFIXES = MappingProxyType({"pulse": AudioBackend.PULSE, "alsa": AudioBackend.ALSA})
#: ALSA device names people type without ``alsa:`` (``hw:0,0``, ``plughw:1``).
ALSA_DEVICE_PREFIXES = frozenset({"hw", "plughw", "sysdefault", "front", "dsnoop", "plug", "dmix"})
_OTHER_PLATFORM_PREFIXES = frozenset({"avfoundation", "dshow"})
_HINT = "caprec devices lists them"


@dataclass(frozen=True)
class _DevicePlatform:
    """A platform whose audio input is one FFmpeg device taking a device name."""

    name: str
    backend: AudioBackend
    device_words: str


_MACOS = _DevicePlatform("macOS", AudioBackend.AVFOUNDATION, "an avfoundation audio index or name")
_WINDOWS = _DevicePlatform("Windows", AudioBackend.DSHOW, "a DirectShow audio device name")


def parse_audio(text: str, *, platform: str, origin: str) -> AudioSource:
    """The audio input ``text`` names on ``platform`` (a :data:`sys.platform` value).

    Linux and other Unix systems (as :func:`caprec.capture.platform.screen.default_backend`
    treats them) take PulseAudio and ALSA, ``darwin`` avfoundation,
    ``win32`` DirectShow. Raises :class:`SettingError` naming ``origin`` for
    an empty name, a prefix of another platform, an ALSA name without
    ``alsa:``, or a name that FFmpeg's device would split at ``:``
    (avfoundation reads ``video:audio``, dshow ``video=...:audio=...``).
    """
    name = text.strip()
    if not name:
        raise SettingError(origin, "is empty; give test, a device name, or none")
    if name == AUDIO_TEST:
        return AudioSource(AudioBackend.TEST)
    prefix, colon, rest = name.partition(PREFIX_SEPARATOR)
    if platform == "darwin":
        target = _MACOS
    elif platform == "win32":
        target = _WINDOWS
    else:
        return _unix_audio(name, prefix.lower(), rest, has_prefix=bool(colon), origin=origin)
    if colon and prefix.lower() in LINUX_PREFIXES:
        raise SettingError(origin, f"{name!r}: {prefix}: is a Linux input; on {target.name} give "
                                   f"{target.device_words} ({_HINT})")
    if colon:
        raise SettingError(origin, f"{name!r} contains ':', which FFmpeg's {target.backend} input would split; "
                                   f"give {target.device_words} without it ({_HINT})")
    if target is _WINDOWS and name.lower() == AUDIO_DEFAULT:
        raise SettingError(origin, f"DirectShow has no default audio device; give {target.device_words} ({_HINT})")
    return AudioSource(target.backend, device=name)


def _unix_audio(name: str, prefix: str, rest: str, *, has_prefix: bool, origin: str) -> AudioSource:
    if not has_prefix:
        return AudioSource(AudioBackend.PULSE, device=name)
    backend = LINUX_PREFIXES.get(prefix)
    if backend is not None:
        device = rest.strip()
        if not device:
            example = AUDIO_DEFAULT if backend is AudioBackend.PULSE else "hw:0,0"
            raise SettingError(origin, f"{name!r} names no device; write {prefix}:NAME, e.g. {prefix}:{example}")
        return AudioSource(backend, device=device)
    if prefix in ALSA_DEVICE_PREFIXES:
        raise SettingError(origin, f"{name!r} looks like an ALSA device; write alsa:{name} "
                                   "(a bare name is a PulseAudio source)")
    where = "another platform's" if prefix in _OTHER_PLATFORM_PREFIXES else "an unknown"
    raise SettingError(origin, f"{name!r}: {prefix}: is {where} audio input; use test, a PulseAudio source "
                               f"(NAME or pulse:NAME) or alsa:NAME ({_HINT})")
