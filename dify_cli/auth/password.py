"""The built-in ``password`` auth method: email and password."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dify_cli.auth import AuthMethod, AuthOption, LoginContext
from dify_cli.errors import UsageError
from dify_cli.hookspecs import hookimpl
from dify_cli.inputs import read_stdin_line

if TYPE_CHECKING:
    from collections.abc import Callable

    from dify_cli.sessions import Session

PASSWORD_ENV = ("DIFY_PASSWORD", "PSDIFY_PASSWORD")


def _password(ctx: LoginContext) -> str:
    if ctx.options.get("password_stdin"):
        line = read_stdin_line()
        if not line:
            raise UsageError("--password-stdin was given but standard input is empty.")
        return line
    given = ctx.options.get("password")
    if given:
        return str(given)
    return ctx.prompt(
        f"Password for {ctx.email}",
        hidden=True,
        alternative="pass --password-stdin or set DIFY_PASSWORD",
    )


def login(ctx: LoginContext) -> Session:
    """Log in with the email and a password from stdin, option, variable or prompt."""
    password = _password(ctx)
    assert ctx.email is not None  # connect guarantees it: needs_email
    credentials = ctx.client.login_password(ctx.email, password)
    return ctx.new_session(credentials)


METHOD = AuthMethod(
    name="password",
    description="Email and password, as on the web console's sign-in page.",
    login=login,
    options=(
        AuthOption(
            "password_stdin",
            "Read the password from the first line of standard input.",
            kind="flag",
        ),
        AuthOption(
            "password",
            "The password (visible to other local users; prefer "
            "--password-stdin or DIFY_PASSWORD).",
            secret=True,
            env=PASSWORD_ENV,
            metavar="PASSWORD",
            warn_on_command_line=True,
            prefer="--password-stdin",
        ),
    ),
)


@hookimpl
def register_auth_methods(register: Callable[[AuthMethod], None]) -> None:
    register(METHOD)
