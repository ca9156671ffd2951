"""Debug logging to stderr, with every record passed through one redaction function."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

_known_secrets: set[str] = set()

# Values that look like credentials even when nobody registered them: JWTs, long hex
# refresh tokens, and the values of secret-bearing headers, cookies and JSON fields.
_JWT = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]+")
_HEX = re.compile(r"\b[0-9a-f]{64,}\b")
_FIELD = re.compile(
    r"""(?ix)
    (
      ["']?(?:password|code|token|access_token|refresh_token|csrf_token|api_key|secret)["']?
      \s*[:=]\s*["']?
    )
    [^"'\s,;}&]+
    """
)
# A header name is secret-bearing when it contains one of these parts:
# Authorization, Proxy-Authorization, X-Api-Key, Set-Cookie, X-Auth-Session...
_SECRET_PARTS = ("auth", "token", "key", "secret", "cookie", "session", "csrf")
_SECRET_NAME = rf"[\w-]*(?:{'|'.join(_SECRET_PARTS)})[\w-]*"
# "Name: value" heading a line, as in a request dump...
_HEADER_LINE = re.compile(r"(?m)^(\s*)([\w-]+)(\s*:\s*)[^\n]+")
# ...and "'Name': 'value'" as in the repr of a dict of headers.
_QUOTED_HEADER = re.compile(
    rf"""(?i)(['"])({_SECRET_NAME})\1(\s*:\s*)(['"])(?:\\.|(?!\4).)*\4"""
)

REDACTED = "***"


def add_secret(value: str | None) -> None:
    """Remember a secret value so that it is masked wherever it appears in a log."""
    if value and len(value) >= 4:
        _known_secrets.add(value)


def is_secret_header(name: str) -> bool:
    """Whether a header of this name may carry a credential, whatever its case."""
    lowered = name.lower()
    return any(part in lowered for part in _SECRET_PARTS)


def shown_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers as a log may show them: secret-bearing values replaced by ``***``."""
    return {
        name: REDACTED if is_secret_header(name) else value
        for name, value in headers.items()
    }


def _masked_header_line(match: re.Match[str]) -> str:
    name = match[2]
    # Header names have a hyphen, but for these two; a word without one, as in
    # "KeyError: 'name'" or "SessionRejected: ...", is prose and keeps its words.
    header_like = "-" in name or name.lower() in ("authorization", "cookie")
    if not (header_like and is_secret_header(name)):
        return match[0]
    return f"{match[1]}{name}{match[3]}{REDACTED}"


def redact(text: str) -> str:
    """Return ``text`` with every known or recognisable secret replaced by ``***``."""
    for secret in sorted(_known_secrets, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    text = _QUOTED_HEADER.sub(
        lambda m: f"{m[1]}{m[2]}{m[1]}{m[3]}{m[4]}{REDACTED}{m[4]}", text
    )
    text = _HEADER_LINE.sub(_masked_header_line, text)
    text = _FIELD.sub(lambda m: f"{m.group(1)}{REDACTED}", text)
    text = _JWT.sub(REDACTED, text)
    return _HEX.sub(REDACTED, text)


class _RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def configure(debug: bool) -> None:
    """Log this package's records to stderr when ``debug`` is on; else stay silent."""
    logger = logging.getLogger("dify_cli")
    if not debug:
        logger.addHandler(logging.NullHandler())
        return
    handler = logging.StreamHandler()
    handler.setFormatter(_RedactingFormatter("debug: %(name)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    for name in ("urllib3", "pluggy"):
        logging.getLogger(name).addHandler(handler)
        logging.getLogger(name).setLevel(logging.DEBUG)
