"""The built-in ``token`` auth method: tokens copied from a logged-in browser."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from dify_cli import logs
from dify_cli.auth import AuthMethod, AuthOption, LoginContext
from dify_cli.errors import AuthError
from dify_cli.hookspecs import hookimpl

if TYPE_CHECKING:
    from collections.abc import Callable

    from dify_cli.sessions import Session


def login(ctx: LoginContext) -> Session:
    """Take the access token (and CSRF token from 1.9.2) the user copied.

    This is the way in for accounts that sign in with SSO or GitHub/Google,
    which have no password the console API accepts.
    """
    # Imported here: loading the plugins for `dify --help` should not pay for
    # the HTTP stack.
    from dify_cli.client import Credentials, RefreshRejected, jwt_expiry

    access = ctx.options.get("access_token") or ctx.prompt(
        "Access token (the access_token cookie)",
        hidden=True,
        alternative="pass --access-token or set DIFY_ACCESS_TOKEN",
    )
    csrf = ctx.options.get("csrf_token")
    refresh = ctx.options.get("refresh_token")
    for value in (access, csrf, refresh):
        logs.add_secret(value)

    cookie_server = ctx.client.generation != "legacy"
    if ctx.client.version is None:
        # Without a version, a CSRF token is the sign of a cookie server.
        cookie_server = bool(csrf)
        ctx.client.generation = "cookie" if csrf else "legacy"
    if cookie_server and not csrf:
        csrf = ctx.prompt(
            "CSRF token (the csrf_token cookie)",
            hidden=True,
            alternative="servers from 1.9.2 also need it: pass --csrf-token "
            "or set DIFY_CSRF_TOKEN",
        )
        logs.add_secret(csrf)

    credentials = Credentials(
        access_token=str(access),
        refresh_token=str(refresh) if refresh else None,
        csrf_token=str(csrf) if csrf and cookie_server else None,
    )
    ctx.client.use(credentials)
    expires_at = jwt_expiry(credentials.access_token)
    if expires_at is not None and expires_at <= time.time():
        if not credentials.refresh_token:
            raise AuthError(
                "The access token has expired.",
                hint="Copy a fresh one from the browser, or give --refresh-token.",
            )
        try:
            credentials = ctx.client.refresh()
        except RefreshRejected as error:
            raise AuthError(
                "The access token has expired and the server refused the "
                "refresh token.",
                hint="Copy fresh tokens from the browser.",
            ) from error
    return ctx.new_session(credentials)


METHOD = AuthMethod(
    name="token",
    description="Console tokens copied from a logged-in browser (SSO, social login).",
    login=login,
    needs_email=False,
    options=(
        AuthOption(
            "access_token",
            "The console access token (the access_token cookie).",
            secret=True,
            env=("DIFY_ACCESS_TOKEN",),
            metavar="TOKEN",
            warn_on_command_line=True,
        ),
        AuthOption(
            "csrf_token",
            "The CSRF token (the csrf_token cookie); needed from Dify 1.9.2.",
            secret=True,
            env=("DIFY_CSRF_TOKEN",),
            metavar="TOKEN",
            warn_on_command_line=True,
        ),
        AuthOption(
            "refresh_token",
            "The refresh token (the refresh_token cookie), to renew the session.",
            secret=True,
            env=("DIFY_REFRESH_TOKEN",),
            metavar="TOKEN",
            warn_on_command_line=True,
        ),
    ),
)


@hookimpl
def register_auth_methods(register: Callable[[AuthMethod], None]) -> None:
    register(METHOD)
