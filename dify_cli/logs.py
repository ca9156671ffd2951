"""Debug logging to stderr, with every record passed through one redaction function."""

from __future__ import annotations

import logging
import re

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
_HEADER = re.compile(
    r"(?i)\b(authorization|x-csrf-token|cookie|set-cookie)(\s*[:=]\s*)[^\n]+"
)

REDACTED = "***"


def add_secret(value: str | None) -> None:
    """Remember a secret value so that it is masked wherever it appears in a log."""
    if value and len(value) >= 4:
        _known_secrets.add(value)


def redact(text: str) -> str:
    """Return ``text`` with every known or recognisable secret replaced by ``***``."""
    for secret in sorted(_known_secrets, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    text = _HEADER.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
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
