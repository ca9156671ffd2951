"""The built-in ``code`` auth method: a one-time code sent by email."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

from dify_cli.auth import AuthMethod, AuthOption, LoginContext
from dify_cli.errors import UsageError
from dify_cli.hookspecs import hookimpl

if TYPE_CHECKING:
    from collections.abc import Callable

    from dify_cli.sessions import Session

# Dify keeps the token that goes with a code for 5 minutes.
CODE_LIFETIME = 300.0
LANGUAGE = "en-US"

_CODE = re.compile(r"^\d{6}$")


def _clean_code(raw: str) -> str:
    code = re.sub(r"\s+", "", raw)
    if not _CODE.match(code):
        raise UsageError("The email code is 6 digits.")
    return code


def _send(ctx: LoginContext, email: str) -> str:
    token = ctx.client.send_email_code(email, LANGUAGE)
    ctx.save_pending(
        {"email": email, "token": token, "expires_at": time.time() + CODE_LIFETIME}
    )
    ctx.say(f"A login code was sent to {email}; it is valid for 5 minutes.")
    return token


def login(ctx: LoginContext) -> Session | None:
    """Send a code and take it back from the option, variable or prompt.

    ``--send-only`` stops after sending and keeps the token that goes with the
    code in the session file, so that a later ``--code`` can finish the login.
    """
    assert ctx.email is not None  # connect guarantees it: needs_email
    email = ctx.email
    pending = ctx.pending if ctx.pending.get("email") == email else {}
    given = ctx.options.get("code")

    if ctx.options.get("send_only"):
        if given:
            raise UsageError("--send-only and --code cannot be used together.")
        _send(ctx, email)
        finish = ctx.connect_command("--method code --code CODE")
        ctx.say(f"Finish with {finish} within 5 minutes.")
        return None

    if given:
        code = _clean_code(str(given))
        token = pending.get("token")
        if not token:
            raise UsageError(
                f"No code is waiting for {email}: none was sent in the last 5 minutes.",
                hint="Send one with "
                f"{ctx.connect_command('--method code --send-only')}, "
                "or leave out --code to be asked for it.",
            )
    else:
        if not ctx.can_prompt:
            raise UsageError(
                "No terminal to ask for the email code.",
                hint=f"Run {ctx.connect_command('--method code --send-only')}, "
                f"then {ctx.connect_command('--method code --code CODE')}.",
            )
        token = pending.get("token") or _send(ctx, email)
        code = _clean_code(
            ctx.prompt(
                f"Code sent to {email}", alternative="pass --code or set DIFY_CODE"
            )
        )

    # Imported here: loading the plugins for `dify --help` should not pay for
    # the HTTP stack.
    from dify_cli.client import EmailCodeRejected

    try:
        credentials = ctx.client.login_email_code(email, code, str(token), LANGUAGE)
    except EmailCodeRejected as error:
        # A wrong code leaves the token usable; an expired one does not.
        if error.token_spent:
            ctx.clear_pending()
            resend = ctx.connect_command("--method code")
            error.hint = f"Send a new code with {resend}."
        raise
    ctx.clear_pending()
    return ctx.new_session(credentials)


METHOD = AuthMethod(
    name="code",
    description="A 6-digit code sent to the account's email.",
    login=login,
    options=(
        # No warning on the command line: the code lapses within minutes, and
        # the hint after sending it tells the user to pass --code.
        AuthOption(
            "code",
            "The 6-digit code from the email (else asked for).",
            secret=True,
            env=("DIFY_CODE",),
            metavar="CODE",
        ),
        AuthOption(
            "send_only",
            "Only send the code; finish later with --code.",
            kind="flag",
        ),
    ),
)


@hookimpl
def register_auth_methods(register: Callable[[AuthMethod], None]) -> None:
    register(METHOD)
