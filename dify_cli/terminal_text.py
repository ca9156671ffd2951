"""Text from servers and users made safe to print: control characters escaped."""

from __future__ import annotations

import re
from typing import Any

# C0 and C1 controls and DEL, line and paragraph separators, and the bidi
# controls that reorder what follows them: any of these in an account name or a
# server's error could add lines, move the cursor or clear the screen. A lone
# surrogate (JSON can spell one) cannot be written to a UTF-8 terminal at all.
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` on one line, with every control character written as an escape."""
    return _UNSAFE.sub(_escaped, text)


def printable_data(data: Any) -> Any:
    """A copy of JSON-like ``data`` with every string (keys too) ``printable``."""
    if isinstance(data, str):
        return printable(data)
    if isinstance(data, dict):
        return {
            printable_data(key): printable_data(value) for key, value in data.items()
        }
    if isinstance(data, (list, tuple)):
        return type(data)(printable_data(item) for item in data)
    return data
