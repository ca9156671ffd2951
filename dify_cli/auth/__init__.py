"""The public API for auth methods: how a plugin describes one and logs in with it.

An auth method is data plus one function. ``AuthMethod`` gives its name (the
``--method`` value and the profile's ``auth_method``), a one-line
description, the ``AuthOption`` values it takes, and ``login``: a function that
receives a ``LoginContext`` and returns a ``Session``. The ``connect`` command
builds its options and help from the registered methods and knows nothing of
any one of them.

A minimal plugin::

    from dify_cli.auth import AuthMethod, AuthOption, LoginContext
    from dify_cli.hookspecs import hookimpl

    def login(ctx: LoginContext):
        key = ctx.options["api_key"] or ctx.prompt("API key", hidden=True)
        ...  # use ctx.client to talk to the server
        return ctx.new_session(credentials)

    @hookimpl
    def register_auth_methods(register):
        register(
            AuthMethod(
                name="my-method",
                description="Log in with my organisation's gateway.",
                login=login,
                options=(
                    AuthOption("api_key", "The gateway key.", secret=True,
                               env=("MY_GATEWAY_KEY",),
                               warn_on_command_line=True),
                ),
            )
        )
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from dify_cli.errors import UsageError

if TYPE_CHECKING:
    from dify_cli.client import ConsoleClient, Credentials
    from dify_cli.sessions import Session

__all__ = [
    "RESERVED_OPTION_NAMES",
    "AuthMethod",
    "AuthOption",
    "HeadersFunction",
    "LoginContext",
    "LoginFunction",
    "OptionKind",
]

OptionKind = Literal["str", "flag", "path", "url", "float"]
"""What an option's value is: text, an on/off flag, a file path, a URL, a number."""

# Names that `dify connect` and the profiles already use for themselves.
RESERVED_OPTION_NAMES = frozenset(
    {
        "server",
        "method",
        "auth_method",
        "email",
        "force",
        "insecure",
        "ca_bundle",
        "verify_tls",
        "timeout",
        "workspace",
        "no_save",
        "json",
        "help",
        "profile",
        "debug",
        "config_dir",
    }
)

_OPTION_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_METHOD_NAME = re.compile(r"^[a-z][a-z0-9-]*$")


@dataclass(frozen=True)
class AuthOption:
    """One option an auth method takes on ``dify connect``.

    :param name: the option's name in Python spelling; ``api_key`` becomes
        ``--api-key`` on the command line and the key of ``LoginContext.options``.
    :param help: one line for ``dify connect --help``.
    :param secret: the value is a credential: it is never stored in a profile,
        never printed, and masked in ``--debug`` logs.
    :param env: environment variables read, in order, when the option is not
        given on the command line.
    :param profile_key: a non-secret option that may also be set in a profile
        (``dify profile set NAME KEY VALUE``); the command line and the
        environment still come first.
    :param kind: ``str`` (text), ``flag`` (on/off, no value), ``path``,
        ``url`` or ``float``.
    :param metavar: the placeholder shown in help, e.g. ``TOKEN``.
    :param warn_on_command_line: for a secret option: when it is given as a
        flag, ``connect`` warns that other local users can read it (command
        lines are public, in ``ps`` for one) and suggests ``prefer``. Leave it
        off for a value that lapses within minutes, such as a one-time code.
    :param prefer: the safer way to give the value that the warning suggests,
        such as ``--password-stdin``; by default the first of ``env``.
    """

    name: str
    help: str
    secret: bool = False
    env: tuple[str, ...] = ()
    profile_key: bool = False
    kind: OptionKind = "str"
    metavar: str | None = None
    warn_on_command_line: bool = False
    prefer: str | None = None

    @property
    def flag(self) -> str:
        """The command-line spelling, such as ``--api-key``."""
        return "--" + self.name.replace("_", "-")

    def problems(self) -> list[str]:
        """What is wrong with this declaration; empty when it is usable."""
        found = []
        if not _OPTION_NAME.match(self.name):
            found.append(f"option name {self.name!r} is not lower_snake_case")
        if self.name in RESERVED_OPTION_NAMES:
            found.append(f"option name {self.name!r} is reserved by dify connect")
        if self.secret and self.profile_key:
            found.append(f"secret option {self.name!r} cannot be a profile key")
        if self.kind == "flag" and self.profile_key:
            found.append(f"flag option {self.name!r} cannot be a profile key")
        if self.warn_on_command_line and not self.secret:
            found.append(f"option {self.name!r} is not secret, so it cannot warn")
        if self.prefer is not None and not self.warn_on_command_line:
            found.append(f"option {self.name!r} sets prefer without warning")
        return found


LoginFunction = Callable[["LoginContext"], "Session | None"]
"""``login(ctx) -> Session | None``; see ``AuthMethod.login``."""

HeadersFunction = Callable[["Session", Mapping[str, Any]], Mapping[str, str]]
"""``request_headers(session, options) -> headers``; see ``AuthMethod``."""


@dataclass(frozen=True)
class AuthMethod:
    """An auth method: a way for ``dify connect`` to obtain a console session.

    :param name: the value of ``--method`` and of the profile's
        ``auth_method``; lower case, digits and dashes.
    :param description: one line, shown by ``dify connect --help`` and
        ``dify plugins``.
    :param login: ``login(ctx: LoginContext) -> Session | None``. It returns
        the new session (build it with ``ctx.new_session``), or None when it
        deliberately stopped after a first step (it then told the user what to
        do next with ``ctx.say``). It raises a ``dify_cli.errors.DifyError``
        subclass for anything that goes wrong; the stored session is then left
        as it was. It does not need to check the session: ``connect`` reads the
        account with the new tokens before storing anything.
    :param options: the options it takes, see ``AuthOption``.
    :param needs_email: ``connect`` makes sure ``ctx.email`` is set (from
        ``--email``, ``DIFY_EMAIL``, the profile or a prompt) before calling
        ``login``.
    :param request_headers: ``request_headers(session, options) -> headers``,
        for a method whose credential is not (only) a console session: an API
        key, or a header a gateway in front of the server wants. It gets the
        stored session and the method's options as the environment and the
        profile give them (the command line only reaches ``login``), and
        returns headers to send on every authenticated request of that
        session, after the access and CSRF token headers and replacing any of
        the same name. It runs whenever a client is made for the session,
        including ``connect``'s check of a new one; it raises a ``DifyError``
        when it cannot make the headers (a profile key is missing, say). The
        values are masked in ``--debug`` logs.
    :param renew: ``renew(ctx: LoginContext) -> Session``, for a method that
        can log in again without the user. It is called, under the profile's
        lock, when the session has expired (or the server says so) and it has
        no refresh token, or the server refused the refresh token. ``ctx``
        carries the expiring session as ``previous`` and has no terminal
        (``ctx.prompt`` raises); the client knows the server version but has
        not fetched ``features``. It returns the new session, which is stored
        in place of the old one, or raises ``AuthError``. Often it is the same
        function as ``login``. Without it, such a session ends and the user
        runs ``dify connect`` again.
    """

    name: str
    description: str
    login: LoginFunction
    options: tuple[AuthOption, ...] = ()
    needs_email: bool = True
    request_headers: HeadersFunction | None = None
    renew: LoginFunction | None = None

    def problems(self) -> list[str]:
        """What is wrong with this declaration; empty when it is usable."""
        found = []
        if not _METHOD_NAME.match(self.name):
            found.append(f"method name {self.name!r} is not lower-case-with-dashes")
        if not callable(self.login):
            found.append(f"method {self.name!r} has no callable login function")
        for hook in ("request_headers", "renew"):
            if getattr(self, hook) is not None and not callable(getattr(self, hook)):
                found.append(f"method {self.name!r} has a {hook} that is not callable")
        names = [option.name for option in self.options]
        if len(names) != len(set(names)):
            found.append(f"method {self.name!r} declares an option twice")
        for option in self.options:
            found.extend(option.problems())
        return found


Prompter = Callable[[str, bool], str]


@dataclass
class LoginContext:
    """What an auth method's ``login`` function gets to work with.

    :ivar profile: the profile being connected.
    :ivar server: the server URL, normalised (``https://dify.example.com``).
    :ivar email: the email to log in as; set whenever the method
        ``needs_email``, else whatever was given (possibly None).
    :ivar method: the name of the method being run.
    :ivar options: the method's options by name, resolved from the command
        line, then their environment variables, then (for profile keys) the
        profile; None (or False for flags) when given nowhere.
    :ivar client: a ``dify_cli.client.ConsoleClient`` for the server. Its
        ``version``, ``generation`` and ``features`` (the server's
        ``system-features``) are already known. Log in with its
        ``login_password``, ``send_email_code``, ``login_email_code``, or with
        ``use(Credentials(...))`` for tokens obtained some other way.
    :ivar previous: the stored session of this profile for this server, if
        any, read-only. A method can look at ``previous.extra`` for secrets
        it kept last time.
    """

    profile: str
    server: str
    email: str | None
    method: str
    options: Mapping[str, Any]
    client: ConsoleClient
    previous: Session | None = None
    _prompter: Prompter | None = field(default=None, repr=False)
    _say: Callable[[str], None] | None = field(default=None, repr=False)
    _warn: Callable[[str], None] | None = field(default=None, repr=False)
    _store_pending: Callable[[dict[str, Any] | None], None] | None = field(
        default=None, repr=False
    )
    _connect_flags: str = field(default="", repr=False)

    @property
    def can_prompt(self) -> bool:
        """Whether there is a terminal to ask the user on."""
        return self._prompter is not None

    def prompt(
        self, text: str, *, hidden: bool = False, alternative: str | None = None
    ) -> str:
        """Ask the user for a value on the terminal; ``hidden`` for secrets.

        Without a terminal this raises ``UsageError`` (exit 2) instead of
        waiting; ``alternative`` tells the user how else to give the value
        (say, ``"pass --api-key or set MY_GATEWAY_KEY"``). Ctrl-C ends the
        command with exit code 130.
        """
        what = text.rstrip(": ").lower()
        if self._prompter is None:
            raise UsageError(
                f"No terminal to ask for the {what}.",
                hint=(alternative[0].upper() + alternative[1:] + ".")
                if alternative
                else None,
            )
        typed = self._prompter(text, hidden)
        # A secret is taken as typed: spaces at either end may be part of a
        # password, and dropping them would spend one of the server's tries.
        value = typed.rstrip("\r\n") if hidden else typed.strip()
        if not value:
            raise UsageError(f"No {what} given.")
        if hidden:
            from dify_cli.client import checked_text

            checked_text(value, what)
        return value

    def connect_command(self, args: str = "") -> str:
        """The ``dify connect`` command line that goes on with this login.

        For hints such as "finish with ...": it names the profile, and the
        server and email too when they are not saved into the profile
        (``--no-save``), so that running it reaches the same account.
        ``args`` are the method's own options (``"--method code --code CODE"``).
        """
        from dify_cli.errors import dify_command

        rest = " ".join(part for part in ("connect", self._connect_flags, args) if part)
        return dify_command(self.profile, rest)

    def say(self, text: str) -> None:
        """Tell the user something (on stderr; stdout carries results only)."""
        if self._say is not None:
            self._say(text)

    def warn(self, text: str) -> None:
        """Warn the user (on stderr)."""
        if self._warn is not None:
            self._warn(text)

    @property
    def pending(self) -> dict[str, Any]:
        """State this method saved with ``save_pending``, if it is still current.

        Empty when nothing is pending, when it belongs to another method or
        server, or when its ``expires_at`` (seconds since the epoch) is past.
        """
        if self.previous is None or not self.previous.pending:
            return {}
        state = dict(self.previous.pending)
        if state.pop("method", None) != self.method:
            return {}
        expires_at = state.get("expires_at")
        if isinstance(expires_at, (int, float)) and expires_at <= time.time():
            return {}
        return state

    def save_pending(self, state: Mapping[str, Any]) -> None:
        """Keep state between two runs of ``connect`` (say, an email-code token).

        It goes into the profile's session file, which holds secrets, and is
        written at once; an ``expires_at`` entry (seconds since the epoch)
        makes it lapse. An existing working session is kept alongside it.
        """
        if self._store_pending is not None:
            self._store_pending({**state, "method": self.method})

    def clear_pending(self) -> None:
        """Forget what ``save_pending`` kept."""
        if self._store_pending is not None:
            self._store_pending(None)

    def new_session(
        self,
        credentials: Credentials | None = None,
        *,
        extra: Mapping[str, str] | None = None,
    ) -> Session:
        """A ``Session`` for this server from the tokens the client holds.

        ``credentials`` defaults to the client's current credentials (set by
        its login calls). ``extra`` holds further secrets the method wants to
        keep; ``connect`` fills in the account after checking the session.
        """
        from dify_cli.client import jwt_expiry
        from dify_cli.sessions import Session

        creds = credentials or self.client.credentials
        if credentials is not None:
            self.client.use(credentials)
        return Session(
            server=self.server,
            server_version=self.client.version,
            generation=self.client.generation,
            auth_method=self.method,
            access_token=creds.access_token,
            refresh_token=creds.refresh_token,
            csrf_token=creds.csrf_token,
            cookie_names=dict(creds.cookie_names),
            obtained_at=time.time(),
            access_expires_at=jwt_expiry(creds.access_token),
            extra=dict(extra or {}),
        )
