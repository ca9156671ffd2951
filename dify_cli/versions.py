"""Dify server versions, and which generation of the login contract each one speaks."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Generation = Literal["legacy", "cookie", "modern"]

GENERATIONS: tuple[Generation, ...] = ("legacy", "cookie", "modern")

# Pre-release stages in PEP 440 order; a final release ranks above all of them
# and a post-release above that. Dify 0.x named its post-releases `-fixN`
# (0.6.12-fix1 follows 0.6.12), so `fix` counts as one.
_STAGES = {"dev": 0, "a": 1, "b": 2, "rc": 3}
_FINAL = 4
_POST = 5

# ASCII digits only, at most 18 in a row: the header comes from the network, and
# int() would take other scripts' digits and refuse runs over 4,300 digits.
_VERSION = re.compile(
    r"""(?aix)
    ^\s*v?
    (?P<release>\d{1,18}(?:\.\d{1,18})*)
    (?:[-_.]?(?P<pre>a|alpha|b|beta|c|rc|pre|preview)[-_.]?(?P<pre_n>\d{0,18}))?
    (?:[-_.]?(?P<post>post|rev|r|fix)[-_.]?(?P<post_n>\d{0,18}))?
    (?:[-_.]?(?P<dev>dev)[-_.]?(?P<dev_n>\d{0,18}))?
    (?:\+[a-z0-9.]*)?
    \s*$
    """
)

_PRE_ALIASES = {"alpha": "a", "beta": "b", "c": "rc", "pre": "rc", "preview": "rc"}


@dataclass(frozen=True)
class ServerVersion:
    """A parsed server version that compares the way PEP 440 orders versions."""

    release: tuple[int, ...]
    stage: int
    number: int
    text: str

    def at_least(self, other: str) -> bool:
        floor = parse_version(other)
        if floor is None:
            raise ValueError(f"not a version: {other!r}")
        return self._key() >= floor._key()

    def _key(self) -> tuple[tuple[int, ...], int, int]:
        return _padded(self.release), self.stage, self.number

    @property
    def is_prerelease(self) -> bool:
        return self.stage < _FINAL


def _padded(release: tuple[int, ...]) -> tuple[int, ...]:
    # 1.9 and 1.9.0 are the same version.
    trimmed = list(release)
    while len(trimmed) > 1 and trimmed[-1] == 0:
        trimmed.pop()
    return tuple(trimmed)


def parse_version(text: str | None) -> ServerVersion | None:
    """Parse a version such as ``1.11.2``, ``1.16.0-rc1``, ``2.0.0-beta.2`` or
    ``0.6.12-fix1``.

    Returns None for a missing or unrecognisable version: the caller then falls
    back to the oldest behaviour, which is what the contract asks for.
    """
    if not text:
        return None
    match = _VERSION.match(text)
    if match is None:
        return None
    release = tuple(int(part) for part in match["release"].split("."))
    if match["dev"] is not None and match["pre"] is None and match["post"] is None:
        stage, number = _STAGES["dev"], int(match["dev_n"] or 0)
    elif match["pre"] is not None:
        tag = match["pre"].lower()
        stage = _STAGES[_PRE_ALIASES.get(tag, tag)]
        number = int(match["pre_n"] or 0)
    elif match["post"] is not None:
        stage, number = _POST, int(match["post_n"] or 0)
    else:
        stage, number = _FINAL, 0
    return ServerVersion(release, stage, number, text.strip())


def _is_two_beta(version: ServerVersion) -> bool:
    # The 2.0.0 betas branched off before 1.9.2: their number is higher than
    # any 1.x but their login contract is the oldest one.
    return _padded(version.release) == (2,) and version.stage < _FINAL


def generation_for(version: str | None) -> Generation:
    """The login contract a server of this version speaks.

    ``legacy`` (tokens in the login body, Bearer) before 1.9.2 and for every
    2.0.0 beta; ``cookie`` (HttpOnly cookies and a CSRF token) from 1.9.2;
    ``modern`` (as cookie, with password and email code Base64-encoded) from
    1.11.2. An unknown version counts as legacy: plain-text credentials are the
    safe guess, and the login answer's shape then shows where tokens travel.
    """
    parsed = parse_version(version)
    if parsed is None or _is_two_beta(parsed):
        return "legacy"
    if parsed.at_least("1.11.2"):
        return "modern"
    if parsed.at_least("1.9.2"):
        return "cookie"
    return "legacy"


def as_generation(text: str | None) -> Generation | None:
    """``text`` if it names a generation (as stored in a session), else None."""
    for generation in GENERATIONS:
        if text == generation:
            return generation
    return None


def encodes_secrets(version: str | None) -> bool:
    """Whether the server expects password and email code Base64-encoded."""
    return generation_for(version) == "modern"


def workspace_current_method(version: str | None) -> str:
    """``workspaces/current`` moved from GET to POST in 1.10.1."""
    parsed = parse_version(version)
    if parsed is None or _is_two_beta(parsed) or not parsed.at_least("1.10.1"):
        return "GET"
    return "POST"
