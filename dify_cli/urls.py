"""Checking and normalising the server URL a profile points at."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from dify_cli.errors import ConfigError

CONSOLE_API_PATH = "/console/api"

_HOST_NAME = re.compile(
    r"[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*\.?"
)
_WHITESPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f]")
# DNS limits; the HTTP library refuses longer labels only when it connects.
_MAX_LABEL = 63
_MAX_HOST = 253


def _shown(raw: str) -> str:
    # Quote the value and escape anything unprintable, so the error stays one line.
    text = raw if len(raw) <= 80 else raw[:77] + "..."
    return repr(text)


def _host(netloc_host: str, raw: str) -> str:
    if netloc_host.startswith("["):
        try:
            address = ipaddress.IPv6Address(netloc_host[1:-1])
        except ValueError as error:
            raise ConfigError(
                f"Server URL {_shown(raw)} has an invalid IPv6 address."
            ) from error
        return f"[{address.compressed}]"

    host = netloc_host.lower()
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError as error:
            raise ConfigError(
                f"Server URL {_shown(raw)} has an invalid host name."
            ) from error
    if not _HOST_NAME.fullmatch(host):
        raise ConfigError(f"Server URL {_shown(raw)} has an invalid host name.")
    labels = host.removesuffix(".").split(".")
    if len(host.removesuffix(".")) > _MAX_HOST or any(
        len(label) > _MAX_LABEL for label in labels
    ):
        raise ConfigError(
            f"Server URL {_shown(raw)} has a host name that is too long "
            f"(at most {_MAX_LABEL} characters between dots, {_MAX_HOST} in all)."
        )
    return host


def _split_host_port(netloc: str, raw: str) -> tuple[str, int | None]:
    if netloc.startswith("["):
        end = netloc.find("]")
        if end < 0:
            raise ConfigError(f"Server URL {_shown(raw)} has an invalid IPv6 address.")
        host, rest = netloc[: end + 1], netloc[end + 1 :]
    else:
        host, sep, port_text = netloc.partition(":")
        rest = sep + port_text
    if not rest or rest == ":":
        return host, None
    if not rest.startswith(":") or not rest[1:].isdigit() or not rest[1:].isascii():
        raise ConfigError(f"Server URL {_shown(raw)} has an invalid port.")
    # Leading zeros aside, a port has at most five digits; int() would refuse
    # a run of thousands.
    digits = rest[1:].lstrip("0")
    if len(digits) > 5 or not 0 < int(digits or "0") < 65536:
        raise ConfigError(f"Server URL {_shown(raw)} has a port out of range.")
    return host, int(digits)


def normalize_server_url(raw: str) -> str:
    """Return the server's root URL as ``scheme://host[:port]``.

    A trailing ``/`` or ``/console/api`` is dropped, since users often paste the
    console API address. Anything else that is not a plain http(s) server root
    raises ConfigError with a message that says what is wrong.
    """
    text = raw.strip()
    if not text:
        raise ConfigError("The server URL is empty.")
    # Checked before anything else, so that no later message echoes the URL: a
    # host name never contains "@", and whatever precedes one may be a password.
    if "@" in text:
        raise ConfigError(
            "The server URL contains a user name or password, so it is not shown.",
            hint="Give only the server root, such as https://dify.example.com; "
            "`dify connect` asks for credentials.",
        )
    if _WHITESPACE_OR_CONTROL.search(text):
        raise ConfigError(
            f"Server URL {_shown(raw)} contains spaces or control characters."
        )

    scheme, sep, _ = text.partition("://")
    if not sep or not scheme:
        raise ConfigError(
            f"Server URL {_shown(raw)} has no scheme.",
            hint=f"Write it as https://{text} (or http:// for a local server).",
        )
    scheme = scheme.lower()
    if scheme not in ("http", "https"):
        raise ConfigError(
            f"Server URL {_shown(raw)} uses {scheme!r}; only http and https work."
        )

    try:
        parts = urlsplit(text)
    except ValueError as error:
        raise ConfigError(f"Server URL {_shown(raw)} is not a valid URL.") from error
    if parts.query or parts.fragment:
        # Shown without the query or fragment: either may carry a token.
        before = text.partition("?")[0].partition("#")[0]
        raise ConfigError(
            f"Server URL {_shown(before)} has a query or fragment; "
            "give the server root."
        )

    host_text, port = _split_host_port(parts.netloc, raw)
    if not host_text:
        raise ConfigError(f"Server URL {_shown(raw)} has no host name.")
    host = _host(host_text, raw)
    root = f"{scheme}://{host}" if port is None else f"{scheme}://{host}:{port}"

    path = parts.path.rstrip("/")
    if path.lower().endswith(CONSOLE_API_PATH):
        path = path[: -len(CONSOLE_API_PATH)].rstrip("/")
    if path:
        raise ConfigError(
            f"Server URL {_shown(raw)} has the path {_shown(path)}; "
            f"give the server root, for example {root}."
        )
    return root
