"""The ``admin-key`` auth method: Dify's admin API key instead of a user login.

A self-hosted Dify server started with ``ADMIN_API_KEY_ENABLE=true`` and an
``ADMIN_API_KEY`` accepts that key as ``Authorization: Bearer`` together with
``X-WORKSPACE-ID`` and serves the request as the owner of that workspace.
There is no login call, no refresh token and, from Dify 1.11, no CSRF check.

The key is a secret: it comes from ``DIFY_ADMIN_API_KEY`` (or a hidden prompt;
``--admin-api-key`` works too, with a warning that other local users can read
it) and is kept in the profile's session file, never in ``profiles.toml``. The
workspace id is an ordinary profile key, ``workspace_id``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dify_cli.auth import AuthMethod, AuthOption, LoginContext
from dify_cli.errors import AuthError, ConfigError, UsageError
from dify_cli.hookspecs import hookimpl

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from dify_cli.sessions import Session

__version__ = "0.1.0"

NAME = "admin-key"
KEY_ENV = "DIFY_ADMIN_API_KEY"
WORKSPACE_ENV = "DIFY_WORKSPACE_ID"
WORKSPACE_HEADER = "X-WORKSPACE-ID"
# Where the key lives in the session's ``extra`` secrets.
SESSION_KEY = "admin_api_key"
# Before this release cookie-era servers still demand the CSRF double submit,
# which a key alone cannot make.
CSRF_EXEMPT_FROM = "1.11.0"

_WORKSPACE_HINT = (
    f"Pass --workspace-id ID, set {WORKSPACE_ENV}, or run "
    "`dify profile set PROFILE workspace_id ID`."
)


def _key(ctx: LoginContext) -> str:
    given = ctx.options.get("admin_api_key")
    if given:
        return str(given)
    # Connecting again (after changing the workspace, say) should not ask for
    # the key the session already holds.
    previous = ctx.previous
    if previous is not None and previous.auth_method == NAME:
        kept = previous.extra.get(SESSION_KEY)
        if kept:
            return kept
    return ctx.prompt(
        "Admin API key",
        hidden=True,
        alternative=f"set {KEY_ENV}",
    )


def _check_server(ctx: LoginContext) -> None:
    from dify_cli.versions import parse_version

    version = parse_version(ctx.client.version)
    if ctx.client.generation == "legacy" or version is None:
        return
    if not version.at_least(CSRF_EXEMPT_FROM):
        raise AuthError(
            f"Dify {version.text} checks the CSRF token even on requests made "
            f"with the admin API key; it stopped doing so in {CSRF_EXEMPT_FROM}.",
            hint="Upgrade the server, or log in with another method.",
        )


def login(ctx: LoginContext) -> Session:
    """Keep the key in the session; ``connect`` then checks it with one request."""
    if not ctx.options.get("workspace_id"):
        raise UsageError(
            "The admin-key method needs the id of the workspace to act in.",
            hint=_WORKSPACE_HINT,
        )
    _check_server(ctx)
    return ctx.new_session(extra={SESSION_KEY: _key(ctx)})


def request_headers(session: Session, options: Mapping[str, Any]) -> dict[str, str]:
    """The key and the workspace, on every request of the session."""
    key = session.extra.get(SESSION_KEY)
    if not key:
        raise AuthError(
            "The stored session holds no admin API key.",
            hint="Run `dify connect --method admin-key` again.",
        )
    workspace = options.get("workspace_id")
    if not workspace:
        raise ConfigError(
            "No workspace id for the admin API key.", hint=_WORKSPACE_HINT
        )
    return {"Authorization": f"Bearer {key}", WORKSPACE_HEADER: str(workspace)}


METHOD = AuthMethod(
    name=NAME,
    description="The server's admin API key, acting as a workspace's owner.",
    login=login,
    needs_email=False,
    request_headers=request_headers,
    options=(
        AuthOption(
            "admin_api_key",
            "The server's ADMIN_API_KEY; prefer the environment variable.",
            secret=True,
            env=(KEY_ENV,),
            metavar="KEY",
            warn_on_command_line=True,
        ),
        AuthOption(
            "workspace_id",
            "The id of the workspace the admin API key acts in.",
            profile_key=True,
            env=(WORKSPACE_ENV,),
            metavar="ID",
        ),
    ),
)


@hookimpl
def register_auth_methods(register: Callable[[AuthMethod], None]) -> None:
    register(METHOD)
