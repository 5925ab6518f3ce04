"""'Did you mean' for a misspelt name (a config key, a variable)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

#: How alike a name must be to be suggested (difflib's ratio, 0 to 1).
SIMILARITY_CUTOFF = 0.6


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The choice most like ``word`` (case-insensitive), or None when none is close."""
    options = {choice.lower(): choice for choice in choices}
    match = difflib.get_close_matches(word.lower(), list(options), n=1, cutoff=SIMILARITY_CUTOFF)
    return options[match[0]] if match else None


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``" (did you mean 'fps'?)"`` for a close choice, else an empty string: to follow the unknown name."""
    match = closest(word, choices)
    return f" (did you mean {match!r}?)" if match is not None else ""
