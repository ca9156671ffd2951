"""A profile's settings and stored session made into a working, self-renewing client.

Renewal: when the access token has expired or will within a minute (its JWT
``exp``, read without verifying), or the server answers 401 "Token has expired."
(or, on cookie servers, the CSRF refusal), the session is renewed once with
the refresh token and the request retried. Renewal holds the profile's
inter-process lock and re-reads the stored session first, so that when many
processes need it at once only the first one refreshes and the others take
its tokens. A session without a refresh token (or whose refresh token the
server refuses) is renewed by its auth method's ``renew`` function when it
has one, under the same lock. A session that cannot be renewed is kept on
disk, untouched, so that ``dify status`` can still say which server and
account it was for; it is replaced by the next ``dify connect`` and deleted by
``dify disconnect``.

Every client made for a stored session also sends the headers its auth method
adds (``AuthMethod.request_headers``), so a method whose credential is not a
console token works through the same connection.
"""

from __future__ import annotations

import logging
import os
import re
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypeVar

from dify_cli import logs
from dify_cli.client import (
    ConsoleClient,
    Credentials,
    RawReply,
    RefreshRejected,
    Reply,
    SessionRejected,
    jwt_expiry,
    line_problem,
)
from dify_cli.errors import (
    AuthError,
    ConfigError,
    DifyError,
    UsageError,
    dify_command,
)
from dify_cli.versions import as_generation, generation_for

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from dify_cli.auth import AuthMethod, LoginFunction, Prompter
    from dify_cli.profiles import ProfileStore
    from dify_cli.sessions import Session, SessionStore
    from dify_cli.settings import Settings

log = logging.getLogger(__name__)

_Answer = TypeVar("_Answer")

# Renew this long before the access token's expiry, so that a command started
# just before it does not fail half-way.
RENEW_MARGIN = 60.0

_UUID = re.compile(
    r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE
)


def credentials_of(session: Session, settings: Settings | None = None) -> Credentials:
    """The tokens of a stored session, as the client holds them.

    With ``settings`` (which resolve the method's options), the headers the
    session's auth method adds come along; a method that is not installed
    adds none, and ``Connection`` reports it before the first request.
    """
    for value in (
        session.access_token,
        session.refresh_token,
        session.csrf_token,
        *session.extra.values(),
    ):
        logs.add_secret(value)
    return Credentials(
        access_token=session.access_token,
        refresh_token=session.refresh_token,
        csrf_token=session.csrf_token,
        cookie_names=dict(session.cookie_names),
        headers=method_headers(session, settings) if settings is not None else {},
    )


def has_credentials(session: Session) -> bool:
    """Whether a stored session holds something to log in with.

    An access token, or secrets its auth method kept (an API key the method
    turns into headers, say); a login that is only half done holds neither.
    """
    return bool(session.access_token or session.extra)


def session_method(session: Session, profile: str | None = None) -> AuthMethod:
    """The installed auth method that made ``session``; ConfigError if none is.

    ``profile`` is the profile the session belongs to, for the hint.
    """
    from dify_cli import plugin_manager

    name = session.auth_method
    method = plugin_manager.auth_methods().get(name)
    if method is not None:
        return method
    if plugin_manager.is_ambiguous(name):
        plugin_manager.auth_method(name)  # raises the error naming both
    raise ConfigError(
        f"The session was made with auth method {name!r}, which is not "
        "installed (see `dify plugins`).",
        hint="Install the plugin that adds it again, or run "
        f"{dify_command(profile, 'connect --method NAME')} with an installed method.",
    )


def method_options(
    method: AuthMethod, settings: Settings, env: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """A method's options outside its ``login``: as the settings resolve them.

    Profile keys come from the settings (flag, environment, profile); other
    options from their environment variables only, since a secret given on
    the command line reaches ``login`` alone and is not there next time.
    """
    environ = os.environ if env is None else env
    values: dict[str, Any] = {}
    for option in method.options:
        # A profile key's setting already weighs flag, environment and profile.
        value: Any = settings.get(option.name) if option.profile_key else None
        name: str | None = option.name
        if value is None:
            name = next((n for n in option.env if environ.get(n)), None)
            value = None if name is None else environ[name]
            problem = line_problem(value) if value is not None else None
            if problem is not None:
                # Such values end up in request headers.
                raise ConfigError(f"{name} cannot be used: {problem}.")
        if option.kind == "flag":
            value = str(value).strip().lower() in {"1", "true", "yes", "on"}
        elif option.kind == "float" and value is not None:
            from dify_cli.profiles import checked_number

            value = checked_number(value, name or option.name)
        if option.secret and isinstance(value, str):
            logs.add_secret(value)
        values[option.name] = value
    return values


def method_headers(session: Session, settings: Settings) -> dict[str, str]:
    """The headers the session's auth method sends with every request."""
    from dify_cli import plugin_manager

    method = plugin_manager.auth_methods().get(session.auth_method)
    if method is None or method.request_headers is None:
        return {}
    made = method.request_headers(session, method_options(method, settings))
    return {str(name): str(value) for name, value in made.items()}


def with_credentials(session: Session, creds: Credentials) -> Session:
    """A copy of ``session`` carrying new tokens."""
    return replace(
        session,
        access_token=creds.access_token,
        refresh_token=creds.refresh_token,
        csrf_token=creds.csrf_token,
        cookie_names=dict(creds.cookie_names),
        access_expires_at=jwt_expiry(creds.access_token),
    )


def _renewed_since(started: Session, current: Session) -> bool:
    """Whether another process renewed the session since ``started`` was read.

    Refresh tokens are random and rotate on every renewal, while two access
    tokens issued in the same second are identical: compare refresh tokens,
    and access tokens only for sessions that have no refresh token.
    """
    if not current.access_token:
        return False
    if started.refresh_token or current.refresh_token:
        changed = current.refresh_token != started.refresh_token
    else:
        changed = current.access_token != started.access_token
    expires_at = current.access_expires_at
    return changed and (expires_at is None or expires_at > time.time())


def make_client(settings: Settings, session: Session | None = None) -> ConsoleClient:
    """A client for the settings' server, holding the session's tokens if given."""
    client = ConsoleClient(
        settings.server,
        verify_tls=bool(settings.verify_tls),
        ca_bundle=settings.ca_bundle,
        timeout=settings.timeout,
        version=session.server_version if session else None,
        generation=as_generation(session.generation) if session else None,
    )
    if session is not None:
        client.use(credentials_of(session, settings))
    return client


def expired_error(profile: str) -> AuthError:
    return AuthError(
        "The session has expired and cannot be renewed.",
        hint=f"Run {dify_command(profile, 'connect')}.",
    )


def not_connected_error(profile: str, server: str | None) -> AuthError:
    where = f" to {server}" if server else ""
    return AuthError(
        f"Profile {profile!r} is not connected{where}.",
        hint=f"Run {dify_command(profile, 'connect')}.",
    )


@dataclass
class Connection:
    """An authenticated console client for one profile, renewing as needed."""

    profile: str
    settings: Settings
    store: SessionStore
    session: Session
    client: ConsoleClient
    renewed: bool = False

    def close(self) -> None:
        self.client.close()

    def needs_renewal(self, now: float | None = None) -> bool:
        expires_at = self.session.access_expires_at
        if expires_at is None:
            return False
        return (now or time.time()) + RENEW_MARGIN >= expires_at

    def method(self) -> AuthMethod:
        """The auth method of the session; ConfigError when it is not installed."""
        return session_method(self.session, self.profile)

    def renewable(self) -> bool:
        """Whether an expired session can be renewed without the user."""
        return bool(self.session.refresh_token) or self.method().renew is not None

    def ensure_fresh(self) -> None:
        """Renew ahead of time when the access token is (nearly) expired.

        Also the check, before the first request, that the session's auth
        method is still installed.
        """
        self.method()
        if not self.needs_renewal():
            return
        if not self.renewable():
            expires_at = self.session.access_expires_at or 0
            if expires_at <= time.time():
                raise expired_error(self.profile)
            return
        self.renew()

    def renew(self) -> None:
        """Renew the session under the profile's lock, or take another's renewal.

        Raises AuthError (exit 4) when the server refuses the refresh token
        and the method cannot log in again; the stored session is then left
        as it is.
        """
        started = self.session
        with self.store.lock(self.profile):
            current = self.store.load(self.profile)
            if current is None or current.server != self.session.server:
                raise not_connected_error(self.profile, self.settings.server)
            if _renewed_since(started, current):
                log.debug("session renewed by another process; using its tokens")
                self._take(current)
                return
            self._take(current)
            updated = self._renewed(current)
            self.store.save(self.profile, updated)
            self._take(updated)
            self.renewed = True

    def _renewed(self, current: Session) -> Session:
        relogin = self.method().renew
        if not current.refresh_token and relogin is None:
            raise expired_error(self.profile)
        # Renewing spends the stored refresh token: new tokens that could not
        # be saved would leave no working session at all.
        self.store.check_writable()
        if current.refresh_token:
            log.debug("renewing the session with the refresh token")
            try:
                return with_credentials(current, self.client.refresh())
            except RefreshRejected as error:
                log.debug("refresh refused: %s", error.message)
                if relogin is None:
                    raise expired_error(self.profile) from None
        if relogin is None:
            raise expired_error(self.profile)
        log.debug("renewing the session through auth method %s", current.auth_method)
        return self._log_in_again(current, relogin)

    def _log_in_again(self, current: Session, relogin: LoginFunction) -> Session:
        from dify_cli.auth import LoginContext

        method = self.method()
        ctx = LoginContext(
            profile=self.profile,
            server=current.server,
            email=self.settings.email,
            method=method.name,
            options=method_options(method, self.settings),
            client=self.client,
            previous=current,
        )
        fresh = relogin(ctx)
        if fresh is None:
            raise expired_error(self.profile)
        return replace(
            fresh,
            server=current.server,
            account=fresh.account or dict(current.account),
            pending={},
            access_expires_at=fresh.access_expires_at or jwt_expiry(fresh.access_token),
            obtained_at=fresh.obtained_at or time.time(),
        )

    def _take(self, session: Session) -> None:
        self.session = session
        self.client.use(credentials_of(session, self.settings))
        self.client.generation = (
            as_generation(session.generation) or self.client.generation
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: Mapping[str, Any] | None = None,
    ) -> Any:
        """An authenticated request, renewed and retried once if the token expired."""
        self.ensure_fresh()
        try:
            return self.client.request(method, path, json_body=json_body, params=params)
        except SessionRejected as error:
            if not error.renewable or not self.renewable():
                raise self._rejected(error) from None
            log.debug("%s; renewing and retrying once", error.message)
        self.renew()
        try:
            return self.client.request(method, path, json_body=json_body, params=params)
        except SessionRejected as error:
            raise self._rejected(error) from None

    def send(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: Mapping[str, Any] | None = None,
    ) -> Reply:
        """Like ``request``, but the decoded answer comes back whatever its status.

        Only a refused session raises (AuthError), after the same renewal and
        retry as ``request``; judging any other status is up to the caller.
        """
        reply = self._renewing(
            lambda: self.client.send(method, path, json_body=json_body, params=params),
            lambda reply: self.client.session_refusal(reply.status, reply.body),
        )
        refusal = self.client.session_refusal(reply.status, reply.body)
        if refusal is not None:
            raise self._rejected(refusal)
        return reply

    def send_raw(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | Sequence[tuple[str, str]] | None = None,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> RawReply:
        """An authenticated request answered as received (see
        ``ConsoleClient.send_raw``), renewed and retried once if the token expired.
        """
        return self._renewing(
            lambda: self.client.send_raw(
                method, path, params=params, data=data, headers=headers
            ),
            lambda raw: self.client.session_refusal(raw.status, raw.json()),
        )

    def _renewing(
        self,
        attempt: Callable[[], _Answer],
        refusal: Callable[[_Answer], SessionRejected | None],
    ) -> _Answer:
        self.ensure_fresh()
        answer = attempt()
        refused = refusal(answer)
        if refused is None or not refused.renewable or not self.renewable():
            return answer
        log.debug("%s; renewing and retrying once", refused.message)
        self.renew()
        return attempt()

    def _rejected(self, error: SessionRejected) -> AuthError:
        if error.renewable:
            return expired_error(self.profile)
        text = error.message if error.message.endswith(".") else error.message + "."
        return AuthError(text, hint=f"Run {dify_command(self.profile, 'connect')}.")

    def check(self) -> dict[str, Any]:
        """Read the account: the cheapest proof that the session works."""
        body = self.request("GET", "account/profile")
        if not isinstance(body, dict) or "id" not in body:
            raise AuthError("The server answered account/profile in an unknown shape.")
        self._note_version()
        return body

    def _note_version(self) -> None:
        seen = self.client.seen_version
        if not seen or seen == self.session.server_version:
            return
        if generation_for(seen) != self.session.generation:
            # Tokens that still work say the contract has not changed; keep
            # what the session knows until the next login.
            return
        log.debug("server now reports version %s", seen)
        with self.store.lock(self.profile):
            current = self.store.load(self.profile)
            if current is not None and current.server == self.session.server:
                self.session = replace(current, server_version=seen)
                self.store.save(self.profile, self.session)


def stored_session(settings: Settings, store: SessionStore) -> Session | None:
    """The profile's stored session if it is for the profile's server."""
    session = store.load(settings.profile)
    if session is None:
        return None
    if session.server != settings.server:
        log.debug(
            "stored session is for %s, not %s: not used",
            session.server,
            settings.server,
        )
        return None
    return session


def open_connection(settings: Settings, store: SessionStore) -> Connection:
    """A connection for the profile's stored session; AuthError when there is none.

    No request is sent until one is made; renewal happens on the first.
    """
    session = stored_session(settings, store)
    if session is None or not has_credentials(session):
        raise not_connected_error(settings.profile, settings.server)
    return Connection(
        settings.profile, settings, store, session, make_client(settings, session)
    )


# -- logging in ---------------------------------------------------------------


@dataclass
class ConnectResult:
    """What ``connect`` did: reused a session, logged in, or sent a first step."""

    profile: str
    server: str
    session: Session | None
    reused: bool = False
    pending: bool = False
    email: str | None = None
    workspace: dict[str, Any] | None = None
    workspace_error: DifyError | None = None

    def summary(self) -> dict[str, Any]:
        """The result as plain data for ``--json``; no secrets."""
        session = self.session
        account = dict(session.account) if session else {}
        return {
            "profile": self.profile,
            "server": self.server,
            "server_version": session.server_version if session else None,
            "generation": session.generation if session else None,
            "auth_method": session.auth_method if session else None,
            "account": {key: account.get(key) for key in ("id", "email", "name")},
            "workspace": self.workspace,
            "reused": self.reused,
            "pending": self.pending,
            "access_expires_at": session.access_expires_at if session else None,
        }


@dataclass
class Interaction:
    """How core code talks to the user; the command-line layer fills it in."""

    prompter: Prompter | None = None
    say: Callable[[str], None] | None = None
    warn: Callable[[str], None] | None = None


def connect(
    settings: Settings,
    store: SessionStore,
    method: AuthMethod,
    options: Mapping[str, Any],
    *,
    force: bool = False,
    interaction: Interaction | None = None,
    saves_profile: bool = True,
    profiles: ProfileStore | None = None,
) -> ConnectResult:
    """Reuse the profile's working session, or log in with ``method``.

    A stored session for the same server is checked with one request (after
    renewal if it needs it) and kept, unless ``force``, a login is half done
    (an email code sent), or the settings ask for another account or, by
    flag, another method. Otherwise the server is probed, the method logs in,
    the new session is checked by reading the account, and only then stored;
    a failure leaves the old session as it was. When the settings name a
    workspace, it is switched to after the login. ``saves_profile`` says
    whether the caller saves server and email into the profile afterwards,
    so that hints for a later step know whether to repeat them. Nothing is
    sent when the session store cannot be written: the session is kept
    whatever the profile options say. Nor is a login sent when ``profiles``,
    the store the caller saves the profile into, cannot be written: the new
    session would replace the old one while the profile still named the old
    server.
    """
    store.check_writable()
    io = interaction or Interaction()
    previous = stored_session(settings, store)
    if (
        previous is not None
        and has_credentials(previous)
        and not force
        and not _wants_new_login(settings, method, previous)
    ):
        reused = _try_reuse(settings, store, previous)
        if reused is not None:
            return reused

    if profiles is not None:
        profiles.check_writable()
    client = make_client(settings)
    try:
        return _login(
            settings,
            store,
            method,
            options=options,
            client=client,
            previous=previous,
            io=io,
            saves_profile=saves_profile,
        )
    finally:
        client.close()


def _wants_new_login(settings: Settings, method: AuthMethod, session: Session) -> bool:
    if session.pending.get("method") == method.name:
        return True
    email = settings.email
    known = session.account.get("email")
    if method.needs_email and email and known and email.lower() != known.lower():
        return True
    chosen = settings.values.get("auth_method")
    return bool(
        chosen and chosen.source == "flag" and method.name != session.auth_method
    )


def _try_reuse(
    settings: Settings, store: SessionStore, session: Session
) -> ConnectResult | None:
    try:
        client = make_client(settings, session)
    except DifyError as error:
        log.debug("stored session is not usable (%s): logging in", error.message)
        return None
    conn = Connection(settings.profile, settings, store, session, client)
    try:
        account = conn.check()
    except (AuthError, ConfigError) as error:
        # ConfigError: the method that made the session is no longer installed.
        log.debug("stored session does not work (%s): logging in", error.message)
        return None
    finally:
        conn.close()
    session = conn.session
    if _account_of(account) != session.account:
        session = replace(session, account=_account_of(account))
        with store.lock(settings.profile):
            store.save(settings.profile, session)
    return ConnectResult(settings.profile, settings.server, session, reused=True)


def _account_of(profile: Mapping[str, Any]) -> dict[str, str]:
    return {
        key: str(profile[key]) for key in ("id", "email", "name") if profile.get(key)
    }


def _login(
    settings: Settings,
    store: SessionStore,
    method: AuthMethod,
    *,
    options: Mapping[str, Any],
    client: ConsoleClient,
    previous: Session | None,
    io: Interaction,
    saves_profile: bool = True,
) -> ConnectResult:
    from dify_cli.auth import LoginContext

    # Asked for before the first request, so that a mistyped one sends nothing.
    email = settings.email
    if method.needs_email and not email:
        email = _ask_email(method, io)
    client.probe()

    def store_pending(state: dict[str, Any] | None) -> None:
        _store_pending(settings, store, client, method.name, state)

    ctx = LoginContext(
        profile=settings.profile,
        server=settings.server,
        email=email,
        method=method.name,
        options=options,
        client=client,
        previous=previous,
        _prompter=io.prompter,
        _say=io.say,
        _warn=io.warn,
        _store_pending=store_pending,
        _connect_flags="" if saves_profile else _unsaved_flags(settings, email),
    )
    session = method.login(ctx)
    if session is None:
        return ConnectResult(
            settings.profile, settings.server, None, pending=True, email=email
        )

    client.use(credentials_of(session, settings))
    try:
        account = client.account_profile()
    except SessionRejected as error:
        raise AuthError(
            f"The server refused the new session: {error.message.split(': ', 1)[-1]}",
            hint="Check the tokens, or log in again.",
        ) from None
    session = replace(
        session,
        server=settings.server,
        account=_account_of(account),
        pending={},
        access_expires_at=session.access_expires_at or jwt_expiry(session.access_token),
        obtained_at=session.obtained_at or time.time(),
    )
    with store.lock(settings.profile):
        store.save(settings.profile, session)

    result = ConnectResult(settings.profile, settings.server, session)
    wanted = settings.workspace
    if wanted:
        # The login stands even if the workspace cannot be chosen; the caller
        # saves the profile first and then reports this.
        try:
            result.workspace = select_workspace(client, str(wanted))
        except DifyError as error:
            result.workspace_error = error
    return result


def _ask_email(method: AuthMethod, io: Interaction) -> str:
    """The email typed at the prompt, checked as one from a flag would be.

    Emails from flags, the environment and the profile were checked when the
    settings were resolved.
    """
    from dify_cli.profiles import CORE_KEYS

    if io.prompter is None:
        raise UsageError(
            f"The {method.name} method needs an email.",
            hint="Pass --email, set DIFY_EMAIL, or set the profile's email.",
        )
    email = io.prompter("Email", False).strip()
    if not email:
        raise UsageError("No email given.")
    try:
        checked: str = CORE_KEYS["email"].check(email)
    except ConfigError as error:
        raise UsageError(error.message) from None
    return checked


def _unsaved_flags(settings: Settings, email: str | None) -> str:
    from shlex import quote

    flags = f"--server {quote(settings.server)}"
    return f"{flags} --email {quote(email)}" if email else flags


def _store_pending(
    settings: Settings,
    store: SessionStore,
    client: ConsoleClient,
    method: str,
    state: dict[str, Any] | None,
) -> None:
    from dify_cli.sessions import Session

    for value in (state or {}).values():
        if isinstance(value, str) and len(value) >= 8:
            logs.add_secret(value)
    with store.lock(settings.profile):
        current = store.load(settings.profile)
        if current is None or current.server != settings.server:
            if state is None:
                return
            current = Session(
                server=settings.server,
                server_version=client.version,
                generation=client.generation,
                auth_method=method,
            )
        store.save(settings.profile, replace(current, pending=dict(state or {})))


def select_workspace(client: ConsoleClient, wanted: str) -> dict[str, Any]:
    """Make ``wanted`` (a workspace id, or an exact name) the current workspace."""
    if _UUID.match(wanted):
        tenant = client.switch_workspace(wanted)
        return {"id": tenant.get("id", wanted), "name": tenant.get("name")}
    workspaces = client.workspaces()
    for item in workspaces:
        if item.get("name") == wanted:
            if not item.get("current"):
                client.switch_workspace(str(item["id"]))
            return {"id": item.get("id"), "name": item.get("name")}
    names = ", ".join(repr(item.get("name")) for item in workspaces) or "none"
    raise ConfigError(
        f"No workspace named {wanted!r} for this account (it has: {names}).",
        hint="Fix the profile's workspace with `dify profile set`; "
        "the login itself succeeded.",
    )


def resolve_settings(
    profiles: ProfileStore,
    profile_flag: str | None,
    flags: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    *,
    sessions: SessionStore | None = None,
    check_exists: bool = True,
) -> Settings:
    """Settings for a profile, with the profile keys that auth methods add.

    A profile chosen by name (``--profile``, DIFY_PROFILE or the file's
    ``default_profile``) must exist, in the profiles file or as a session in
    ``sessions`` (``connect --no-save`` keeps one without a profile): a
    misspelt name would otherwise run against the default server.
    ``check_exists=False`` lifts this for ``connect``, which makes the
    profile, and for names a command listed itself. Without
    a chosen name, a missing profile is fine: settings then come from the
    environment alone, as in CI.
    """
    from dify_cli.plugin_manager import auth_option_keys
    from dify_cli.settings import resolve

    settings = resolve(
        profiles, profile_flag, dict(flags or {}), env, extra_keys=auth_option_keys()
    )
    if (
        not check_exists
        or settings.profile_exists
        or settings.profile_source == "default"
        or (sessions is not None and sessions.load(settings.profile) is not None)
    ):
        return settings
    error = profiles.unknown(settings.profile)
    if settings.profile_source == "profile" and settings.profile_origin:
        # The name came from the file: say where, or it reads like a typo on
        # the command line.
        error = ConfigError(
            f"{settings.profile_origin}: {error.message}", hint=error.hint
        )
    raise error
