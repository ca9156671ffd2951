"""``dify token``: print the access (or CSRF) token for scripts.

The only command that prints a secret. It renews the session first when the
access token has expired or is about to.
"""

from __future__ import annotations

import click

from dify_cli.cli.context import app_context
from dify_cli.cli.output import emit, json_option
from dify_cli.errors import UsageError


@click.command("token")
@click.option("--csrf", is_flag=True, help="Print the CSRF token instead.")
@json_option
def command(csrf: bool) -> None:
    """Print the access token (or CSRF token) for scripts.

    For example: curl -H "Authorization: Bearer $(dify token)" ...
    From Dify 1.9.2 a request also needs the CSRF token: send it as the
    X-CSRF-Token header and the csrf_token cookie.
    """
    from dify_cli.connection import open_connection, resolve_settings

    app = app_context()
    sessions = app.session_store()
    settings = resolve_settings(app.profile_store(), app.profile, sessions=sessions)
    conn = open_connection(settings, sessions)
    try:
        conn.ensure_fresh()
    finally:
        conn.close()
    session = conn.session
    if csrf and not session.csrf_token:
        raise UsageError(
            f"This server (Dify {session.server_version or 'unknown'}) "
            "uses no CSRF token.",
            hint="Servers before 1.9.2 take the access token alone.",
        )
    value = session.csrf_token if csrf else session.access_token
    if value is None:
        # A method such as an API key presents the session with its own
        # headers; there is no console token to hand out.
        raise UsageError(
            f"The session of auth method {session.auth_method!r} has no access token.",
        )
    kind = "csrf_token" if csrf else "access_token"
    emit(
        {kind: value, "expires_at": session.access_expires_at},
        lambda data: str(data[kind]),
    )
