"""The ``exec`` auth method: console tokens printed by a command you name.

The profile's ``auth_command`` (``dify profile set work auth_command
"sso-helper dify"``) is run without a shell; it logs in however your
organisation does (a browser, a vault, a token broker) and prints one JSON
object on stdout::

    {"version": 1,
     "access_token": "eyJ...",
     "csrf_token": "eyJ...",
     "refresh_token": "9f2c...",
     "expires_at": "2026-07-15T10:00:00Z"}

``access_token`` is required; ``csrf_token`` is required by servers from
Dify 1.9.2; ``refresh_token`` and ``expires_at`` (ISO 8601 or seconds since
the epoch; else the access token's own expiry) are optional. Whatever the
command writes on stderr goes straight to the user. When the session expires
and there is no refresh token (or the server refuses it), the command is run
again.

On POSIX the command is split like a shell would split it (quotes and
backslashes), but no shell runs: no pipes, globs or variables. On Windows the
text is handed to the system unchanged, which splits it by its own rules.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import subprocess
from dataclasses import replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from dify_cli import logs
from dify_cli.auth import AuthMethod, AuthOption, LoginContext
from dify_cli.errors import AuthError, ConfigError, UsageError
from dify_cli.hookspecs import hookimpl

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from dify_cli.sessions import Session

__version__ = "0.1.0"

NAME = "exec"
DEFAULT_TIMEOUT = 120.0
FORMAT_VERSION = 1
# A command killed at its timeout may leave a child holding stdout open; wait
# this long for the pipe to close, then stop waiting.
_DRAIN_SECONDS = 2.0


def split_command(command: str) -> str | list[str]:
    """The command as the system runs it; see the module docstring."""
    if os.name == "nt":
        return command
    try:
        argv = shlex.split(command)
    except ValueError as error:
        raise ConfigError(f"Cannot split the auth command: {error}.") from None
    if not argv:
        raise ConfigError("The auth command is empty.")
    return argv


def _program(argv: str | Sequence[str]) -> str:
    return argv if isinstance(argv, str) else argv[0]


def run_command(
    command: str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    env: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Run the auth command and return the JSON object it printed.

    stdin and stderr stay the user's, so a command may prompt or explain
    itself; only stdout is read.
    """
    argv = split_command(command)
    try:
        process = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            env={**os.environ, **(env or {})},
        )
    except FileNotFoundError:
        raise ConfigError(
            f"The auth command {_program(argv)!r} was not found.",
            hint="Check the profile's auth_command and your PATH.",
        ) from None
    except PermissionError:
        raise ConfigError(
            f"The auth command {_program(argv)!r} cannot be run (permission denied)."
        ) from None
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _stop(process)
        raise AuthError(
            f"The auth command did not finish within {timeout:g} s and was stopped.",
            hint="Raise auth_command_timeout if it needs longer.",
        ) from None
    except KeyboardInterrupt:
        _stop(process)
        raise
    if process.returncode != 0:
        raise AuthError(
            f"The auth command failed with exit status {process.returncode}.",
            hint="Its own messages, if it wrote any, are above.",
        )
    return _parse(output)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.communicate(timeout=_DRAIN_SECONDS)


def _parse(output: bytes) -> dict[str, Any]:
    try:
        data = json.loads(output.decode("utf-8"))
    except UnicodeDecodeError:
        raise AuthError(
            "The auth command printed something that is not UTF-8."
        ) from None
    except json.JSONDecodeError as error:
        # Where it went wrong, never the text: it may hold a token.
        # Some of json's messages end in " at" themselves.
        what = error.msg.removesuffix(" at")
        raise AuthError(
            f"The auth command did not print JSON ({what} at line "
            f"{error.lineno}, column {error.colno}).",
        ) from None
    if not isinstance(data, dict):
        raise AuthError("The auth command printed JSON that is not an object.")
    version = data.get("version", FORMAT_VERSION)
    if version != FORMAT_VERSION:
        raise AuthError(
            f"The auth command printed format version {version!r}; "
            f"this plugin reads version {FORMAT_VERSION}.",
        )
    for key in ("access_token", "csrf_token", "refresh_token"):
        value = data.get(key)
        if value is not None and not (isinstance(value, str) and value):
            raise AuthError(f"The auth command's {key} is not a non-empty string.")
        logs.add_secret(value)
    if not data.get("access_token"):
        raise AuthError("The auth command printed no access_token.")
    return data


def expiry_of(data: Mapping[str, Any]) -> float | None:
    """``expires_at`` as seconds since the epoch; None when not given."""
    value = data.get("expires_at")
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=timezone.utc)
            return moment.timestamp()
    raise AuthError(
        "The auth command's expires_at is neither ISO 8601 nor a number of seconds."
    )


def _session(ctx: LoginContext, reason: str) -> Session:
    from dify_cli.client import Credentials

    command = ctx.options.get("auth_command")
    if not command:
        raise UsageError(
            "The exec method needs the command that prints the tokens.",
            hint=f"Run `dify profile set {ctx.profile} auth_command 'COMMAND ARGS'`, "
            "or pass --auth-command.",
        )
    timeout = ctx.options.get("auth_command_timeout") or DEFAULT_TIMEOUT
    data = run_command(
        str(command),
        timeout=float(timeout),
        env={
            "DIFY_EXEC_SERVER": ctx.server,
            "DIFY_EXEC_PROFILE": ctx.profile,
            "DIFY_EXEC_REASON": reason,
        },
    )
    csrf = data.get("csrf_token")
    if ctx.client.version is None:
        # Without a version, a CSRF token is the sign of a cookie server.
        ctx.client.generation = "cookie" if csrf else "legacy"
    if ctx.client.generation != "legacy" and not csrf:
        raise AuthError(
            f"The auth command printed no csrf_token, which Dify "
            f"{ctx.client.version or 'from 1.9.2'} needs alongside the access token.",
        )
    session = ctx.new_session(
        Credentials(
            access_token=data["access_token"],
            refresh_token=data.get("refresh_token"),
            csrf_token=csrf if ctx.client.generation != "legacy" else None,
        )
    )
    expires_at = expiry_of(data)
    if expires_at is not None:
        session = replace(session, access_expires_at=expires_at)
    return session


def login(ctx: LoginContext) -> Session:
    """Run the command and take the tokens it prints."""
    return _session(ctx, "login")


def renew(ctx: LoginContext) -> Session:
    """Run the command again for a session that has expired."""
    return _session(ctx, "renew")


METHOD = AuthMethod(
    name=NAME,
    description="Tokens printed as JSON by a command you name (SSO helpers).",
    login=login,
    renew=renew,
    needs_email=False,
    options=(
        AuthOption(
            "auth_command",
            "The command that prints the tokens as JSON.",
            profile_key=True,
            env=("DIFY_AUTH_COMMAND",),
            metavar="COMMAND",
        ),
        AuthOption(
            "auth_command_timeout",
            f"Seconds the command may take (default {DEFAULT_TIMEOUT:g}).",
            profile_key=True,
            kind="float",
            env=("DIFY_AUTH_COMMAND_TIMEOUT",),
            metavar="SECONDS",
        ),
    ),
)


@hookimpl
def register_auth_methods(register: Callable[[AuthMethod], None]) -> None:
    register(METHOD)
