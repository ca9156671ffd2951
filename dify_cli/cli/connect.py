"""``dify connect``: log in to the profile's server, or confirm the session works.

The method options are built from the registered auth methods when this
module is imported, so a plugin's method gets its options and help here
without ``connect`` knowing anything about it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from dify_cli import logs
from dify_cli.cli.context import app_context
from dify_cli.cli.output import emit, json_option, message, warn
from dify_cli.cli.params import NonEmptyPath, check_email, reject_empty
from dify_cli.errors import ConfigError, UsageError
from dify_cli.plugin_manager import auth_methods, auth_options

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from dify_cli.auth import AuthMethod, AuthOption
    from dify_cli.connection import ConnectResult
    from dify_cli.settings import Settings

_OPTION_TYPES: dict[str, Any] = {
    "path": NonEmptyPath(dir_okay=False, path_type=Path),
    "float": click.FLOAT,
}


def terminal_prompter() -> Callable[[str, bool], str] | None:
    """Ask on the terminal, or None when there is none to ask on."""
    from dify_cli.inputs import stdin_is_terminal

    if not stdin_is_terminal():
        return None

    def ask(text: str, hidden: bool) -> str:
        try:
            value: str = click.prompt(
                text, hide_input=hidden, err=True, show_default=False
            )
        except click.Abort:
            # Ctrl-C (or end of input) at a prompt ends the command as
            # "Interrupted.", exit 130, like Ctrl-C anywhere else.
            raise KeyboardInterrupt from None
        return value

    return ask


def _owners(option: AuthOption) -> list[str]:
    return [
        method.name
        for method in auth_methods().values()
        if any(own.name == option.name for own in method.options)
    ]


def _option_help(option: AuthOption) -> str:
    text = option.help
    extras = [f"method: {', '.join(_owners(option))}"]
    if option.env:
        extras.append(f"env: {', '.join(option.env)}")
    return f"{text} [{'; '.join(extras)}]"


def _method_option(option: AuthOption) -> Callable[[Any], Any]:
    if option.kind == "flag":
        return click.option(
            option.flag, option.name, is_flag=True, help=_option_help(option)
        )
    return click.option(
        option.flag,
        option.name,
        type=_OPTION_TYPES.get(option.kind, click.STRING),
        metavar=option.metavar or option.name.upper(),
        help=_option_help(option),
    )


def _method_values(
    method: AuthMethod, given: Mapping[str, Any], settings: Settings
) -> dict[str, Any]:
    """The method's options: command line, then environment, then profile."""
    for name, value in given.items():
        if value in (None, False):
            continue
        if not any(option.name == name for option in method.options):
            owners = ", ".join(_owners(auth_options()[name]))
            raise UsageError(
                f"--{name.replace('_', '-')} belongs to the {owners} method, "
                f"not {method.name}.",
                hint=f"Add --method {owners.split(',')[0]}.",
            )
    values: dict[str, Any] = {}
    for option in method.options:
        value = given.get(option.name)
        source = option.flag
        if value in (None, False):
            value, source = _from_env(option)
        if value in (None, False) and option.profile_key:
            value, source = settings.get(option.name), f"profile key {option.name}"
        _check_line(value, source)
        value = _typed(option, value, source)
        if option.secret and isinstance(value, str):
            logs.add_secret(value)
        values[option.name] = value
    return values


def _typed(option: AuthOption, value: Any, source: str) -> Any:
    # Values from the environment arrive as text; the command line's are typed.
    if option.kind == "flag":
        if isinstance(value, str):
            return value.strip().lower() in {"1", "true", "yes", "on"}
        return bool(value)
    if value is None:
        return None
    if option.kind == "float":
        from dify_cli.profiles import checked_number

        try:
            return checked_number(value, source)
        except ConfigError as error:
            if source != option.flag:
                raise
            raise UsageError(error.message) from None
    return str(value) if isinstance(value, Path) else value


def _from_env(option: AuthOption) -> tuple[Any, str]:
    """The option's value from its environment variables, and the one it came from."""
    for name in option.env:
        value = os.environ.get(name)
        if value:
            return value, name
    return None, option.flag


def _warn_about_visible_secrets(method: AuthMethod, given: Mapping[str, Any]) -> None:
    """Warn about secrets given as flags: every local user can read a command line.

    Only options that ask for it warn; a one-time code is not worth the noise.
    """
    for option in method.options:
        if not option.warn_on_command_line or not given.get(option.name):
            continue
        text = f"{option.flag} is visible to other local users"
        prefer = option.prefer or next(iter(option.env), None)
        warn(f"{text}; prefer {prefer}." if prefer else f"{text}.")


def _warn_about_unused_secrets(method: AuthMethod, given: Mapping[str, Any]) -> None:
    """Say so when secrets given as flags went unused: the session still worked.

    Values from the environment stay quiet, as CI jobs set them for every run.
    """
    unused = [o.flag for o in method.options if o.secret and given.get(o.name)]
    if unused:
        warn(
            f"the stored session still works, so {', '.join(unused)} went unused; "
            "pass --force to log in with them."
        )


def _check_line(value: Any, source: str) -> None:
    # Every option value is one line; most end up in an HTTP header, where a
    # line break would end the header early or add one of its own.
    from dify_cli.client import line_problem

    problem = line_problem(value) if isinstance(value, str) else None
    if problem is not None:
        raise UsageError(f"{source} cannot be used: {problem}.")


def _render(data: dict[str, Any]) -> str:
    account = data["account"]
    who = account.get("name") or account.get("email") or "an unknown account"
    if account.get("email") and account.get("name"):
        who = f"{account['name']} <{account['email']}>"
    version = data["server_version"] or "unknown version"
    lead = "Already connected" if data["reused"] else "Connected"
    lines = [f"{lead} to {data['server']} (Dify {version}) as {who}."]
    if data["workspace"]:
        workspace = data["workspace"]
        lines.append(f"Workspace: {workspace.get('name') or workspace.get('id')}")
    if data["reused"]:
        lines.append("Use --force to log in again.")
    return "\n".join(lines)


def _save_profile(
    result: ConnectResult, settings: Settings, method: AuthMethod
) -> None:
    """Save what this login used: server, method, email, and settings given as
    options (a CA bundle, a plugin's profile keys); never --insecure."""
    wanted: dict[str, Any] = {"server": settings.server, "auth_method": method.name}
    account = result.session.account if result.session else {}
    email = settings.email or result.email or account.get("email")
    if method.needs_email and email:
        wanted["email"] = email
    for key, setting in settings.values.items():
        if setting.source == "flag" and key not in ("verify_tls", "workspace"):
            wanted.setdefault(key, setting.value)
    store = app_context().profile_store()
    current = store.get(settings.profile)
    changed = {
        key: value
        for key, value in wanted.items()
        if current is None or current.get(key) != value
    }
    from dify_cli.settings import FALLBACK_PROFILE

    made_default = bool(changed) and store.update(settings.profile, changed)
    # A profile named "default" is used without --profile anyway.
    if made_default and settings.profile != FALLBACK_PROFILE:
        message(f"Profile {settings.profile} is now the default profile.")


def _run(
    *,
    server: str | None,
    method_name: str | None,
    email: str | None,
    force: bool,
    insecure: bool,
    ca_bundle: Path | None,
    no_save: bool,
    given: dict[str, Any],
) -> None:
    from dify_cli.connection import Interaction, connect, resolve_settings
    from dify_cli.plugin_manager import auth_method
    from dify_cli.urls import normalize_server_url

    app = app_context()
    profile_keys = {
        option.name
        for option in auth_options().values()
        if option.profile_key and not option.secret
    }
    flags: dict[str, Any] = {
        "server": normalize_server_url(server) if server else None,
        "auth_method": method_name,
        "email": email,
        "verify_tls": False if insecure else None,
        "ca_bundle": str(ca_bundle) if ca_bundle else None,
    }
    flags.update({key: given.get(key) for key in profile_keys})
    settings = resolve_settings(
        app.profile_store(), app.profile, flags, check_exists=False
    )
    method = auth_method(str(settings.auth_method))
    options = _method_values(method, given, settings)
    _warn_about_visible_secrets(method, given)

    result = connect(
        settings,
        app.session_store(),
        method,
        options,
        force=force,
        interaction=Interaction(terminal_prompter(), message, warn),
        saves_profile=not no_save,
        profiles=None if no_save else app.profile_store(),
    )
    if result.pending:
        # The hint to finish names only the profile: the profile must then
        # hold the server and email the code was sent for.
        if not no_save:
            _save_profile(result, settings, method)
        if app.json:
            emit(result.summary())
        return
    if not no_save and not result.reused:
        _save_profile(result, settings, method)
    emit(result.summary(), _render)
    if result.reused:
        _warn_about_unused_secrets(method, given)
    if insecure and settings.server.startswith("https://"):
        # Saving it would quietly weaken every later command; say how instead.
        message(
            "--insecure is not saved: for later commands set DIFY_INSECURE=1, or "
            f"run `dify profile set {settings.profile} verify_tls false`."
        )
    if result.workspace_error is not None:
        raise result.workspace_error


_CORE_OPTIONS = (
    "server",
    "method_name",
    "email",
    "force",
    "insecure",
    "ca_bundle",
    "no_save",
)


def _methods_epilog() -> str:
    lines = ["\b", "Auth methods:"]
    for method in auth_methods().values():
        lines.append(f"  {method.name:<10} {method.description}")
    return "\n".join(lines)


def _build() -> click.Command:
    from dify_cli.settings import DEFAULTS

    def callback(**kwargs: Any) -> None:
        core = {key: kwargs.pop(key) for key in _CORE_OPTIONS}
        _run(given=kwargs, **core)

    decorators: list[Callable[[Any], Any]] = [
        click.option(
            "--server", metavar="URL", callback=reject_empty, help="The server's URL."
        ),
        click.option(
            "--method",
            "method_name",
            metavar="NAME",
            callback=reject_empty,
            help=f"Auth method: {', '.join(auth_methods())} "
            f"(default {DEFAULTS['auth_method']}).",
        ),
        click.option(
            "--email",
            metavar="EMAIL",
            callback=check_email,
            help="The account's email.",
        ),
        click.option(
            "--force", is_flag=True, help="Log in even if the session still works."
        ),
        click.option(
            "--insecure",
            is_flag=True,
            help="Do not verify the server's TLS certificate (never saved).",
        ),
        click.option(
            "--ca-bundle",
            type=NonEmptyPath(path_type=Path),
            help="Trust the CA certificates in this PEM file "
            "(or folder of hashed certificates).",
        ),
        click.option(
            "--no-save",
            is_flag=True,
            help="Do not save server, method and email into the profile.",
        ),
        json_option,
    ]
    decorators += [_method_option(option) for option in auth_options().values()]
    func: Any = callback
    for decorator in reversed(decorators):
        func = decorator(func)
    return click.command(
        "connect",
        help="Log in to the profile's server and keep the session.\n\n"
        "If the profile already has a working session for the server, nothing "
        "more is done unless --force is given. Server, method and email of a "
        "successful login are saved into the profile.",
        epilog=_methods_epilog(),
    )(func)


command = _build()
