"""`dify profile`: list, show, add and edit the named profiles."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from dify_cli.cli.context import app_context
from dify_cli.cli.output import emit, json_option, message, setting_text, warn
from dify_cli.cli.params import check_email, reject_empty
from dify_cli.profiles import (
    CORE_KEYS,
    all_keys,
    check_storable_key,
    looks_secret,
    plugin_keys,
    unknown_key_error,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from dify_cli.profiles import KeySpec, ProfileStore
    from dify_cli.settings import Settings

F = TypeVar("F", bound="Callable[..., Any]")

_SETTING_OPTIONS = (
    click.option(
        "--server",
        metavar="URL",
        callback=reject_empty,
        help="Root URL of the Dify server.",
    ),
    click.option(
        "--auth-method",
        metavar="METHOD",
        callback=reject_empty,
        help="How to log in: password, code or token (plugins add more).",
    ),
    click.option(
        "--email",
        metavar="EMAIL",
        callback=check_email,
        help="Account email used to log in.",
    ),
    click.option(
        "--verify-tls/--no-verify-tls",
        default=None,
        help="Check the server's TLS certificate.",
    ),
    click.option(
        "--ca-bundle",
        metavar="PATH",
        callback=reject_empty,
        help="PEM file of CA certificates to trust.",
    ),
    click.option(
        "--timeout",
        metavar="SECONDS",
        callback=reject_empty,
        help="Seconds to wait for the server.",
    ),
    click.option(
        "--workspace",
        metavar="NAME",
        callback=reject_empty,
        help="Workspace to switch to after login.",
    ),
)


def _setting_options(func: F) -> F:
    for option in reversed(_SETTING_OPTIONS):
        func = option(func)
    return func


def _given(options: Mapping[str, Any]) -> dict[str, Any]:
    """The setting options the user actually passed."""
    return {key: options[key] for key in CORE_KEYS if options.get(key) is not None}


def _typed(given: Mapping[str, Any]) -> dict[str, Any]:
    return {
        key: CORE_KEYS[key].parse(value)
        if isinstance(value, str)
        else CORE_KEYS[key].check(value)
        for key, value in given.items()
    }


def _table(rows: Sequence[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = []
    for row in rows:
        cells = [
            cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)
        ]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return "\n".join(lines)


def _nothing(_: Any) -> str:
    # Edits report on stderr; stdout carries a result only under --json.
    return ""


def _warn_missing_ca_bundle(values: Mapping[str, Any]) -> None:
    ca_bundle = values.get("ca_bundle")
    if ca_bundle and not Path(ca_bundle).exists():
        warn(f"{ca_bundle} does not exist yet; connecting will fail until it does.")


def _key_spec(key: str) -> KeySpec:
    # Core keys need no plugins; loading them costs more than the edit itself.
    if key in CORE_KEYS:
        return CORE_KEYS[key]
    check_storable_key(key)
    keys = all_keys()
    if key not in keys:
        raise unknown_key_error(key, keys)
    return keys[key]


@click.group()
def command() -> None:
    """List, show, add and edit named profiles.

    A profile holds one environment's settings (server, login method, email,
    TLS options); secrets are kept apart in the session store.
    """


@command.command("list")
@json_option
def list_profiles() -> None:
    """List the profiles; the default one is marked with *."""
    store = app_context().profile_store()
    default = store.default_name()
    data = [
        {
            "name": name,
            "default": name == default,
            "settings": _shown_settings(store, name, settings),
        }
        for name, settings in store.profiles().items()
    ]
    if not data and not app_context().json:
        message("No profiles yet. Add one with `dify profile add NAME --server URL`.")
        return

    def render(rows: list[dict[str, Any]]) -> str:
        return _table(
            [
                (
                    "*" if row["default"] else " ",
                    row["name"],
                    # A value of the wrong type, written by hand, is shown
                    # as it is; commands using the profile say what is wrong.
                    setting_text(row["settings"].get("server"), quoted=False),
                    "(default)" if row["default"] else "",
                )
                for row in rows
            ]
        )

    emit(data, render)


# A URL's user name and password, as in https://user:password@host/.
_USERINFO = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*://)[^/?#\s]*@")


def _shown_settings(
    store: ProfileStore, name: str, settings: dict[str, Any]
) -> dict[str, Any]:
    """The settings as they may be printed, with what looks like a credential
    written in by hand masked, and a warning to remove it.

    dify never uses such a key; the file may be shared, the terminal recorded.
    """
    found: list[str] = []
    shown = _masked(settings, found, "")
    for what in found:
        warn(
            f"profile {name} holds {what}, which looks like a secret and is "
            f"never used: remove it from {store.path}."
        )
    return shown  # type: ignore[no-any-return]


def _masked(value: Any, found: list[str], where: str) -> Any:
    if isinstance(value, dict):
        shown = {}
        for key, item in value.items():
            path = f"{where}.{key}" if where else str(key)
            if looks_secret(str(key)):
                found.append(repr(path))
                shown[key] = "***"
            else:
                shown[key] = _masked(item, found, path)
        return shown
    if isinstance(value, list):
        return [_masked(item, found, where) for item in value]
    if isinstance(value, str) and _USERINFO.match(value):
        found.append(f"a user name or password in {where!r}")
        return _USERINFO.sub(r"\1***@", value, count=1)
    return value


def _show_stored(store: ProfileStore, name: str) -> None:
    settings = _shown_settings(store, name, store.require(name))
    data = {
        "name": name,
        "default": store.default_name() == name,
        "settings": settings,
    }

    def render(info: dict[str, Any]) -> str:
        title = info["name"] + (" (default)" if info["default"] else "")
        lines = [f"  {key} = {setting_text(value)}" for key, value in settings.items()]
        return "\n".join([title, *lines]) if lines else f"{title}\n  (no settings)"

    emit(data, render)


def _describe(source: str, origin: str | None, settings: Settings) -> str:
    if source == "flag":
        return origin or "flag"
    if source == "env":
        return f"env {origin}"
    if source == "profile":
        return f"profile {settings.profile} ({origin})"
    return "default"


def _show_resolved(
    store: ProfileStore, name: str | None, flags: Mapping[str, Any]
) -> None:
    from dify_cli.settings import resolve

    ctx = app_context()
    settings = resolve(
        store,
        name or ctx.profile,
        flags,
        env=os.environ,
        extra_keys=plugin_keys(),
    )
    if not settings.profile_exists:
        if settings.profile_source != "default":
            raise store.unknown(settings.profile)
        warn(
            f"there is no profile {settings.profile!r}; "
            "showing the environment and built-in defaults."
        )
    profile_origin = "NAME argument" if name else settings.profile_origin
    data = {
        "profile": {
            "name": settings.profile,
            "source": settings.profile_source,
            "origin": profile_origin,
            "exists": settings.profile_exists,
        },
        "settings": {
            key: {"value": s.value, "source": s.source, "origin": s.origin}
            for key, s in settings.values.items()
        },
    }

    def render(_: Any) -> str:
        chosen_by = {
            "flag": profile_origin or "flag",
            "env": f"env {profile_origin}",
            "profile": profile_origin or "default_profile",
            "default": "default",
        }[settings.profile_source]
        rows = [("profile", settings.profile, chosen_by)]
        rows += [
            (key, setting_text(s.value), _describe(s.source, s.origin, settings))
            for key, s in settings.values.items()
        ]
        return _table(rows)

    emit(data, render)


@command.command("show")
@click.argument("name", required=False)
@click.option(
    "--resolved",
    is_flag=True,
    help="Show every effective setting and where it comes from.",
)
@_setting_options
@json_option
def show(name: str | None, resolved: bool, **options: Any) -> None:
    """Show a profile's stored settings (default: the selected profile).

    With --resolved, show what a command would use: each setting from a flag,
    an environment variable, the profile or the built-in default. The setting
    options preview the effect of passing them to a command.
    """
    from dify_cli.settings import select_profile

    store = app_context().profile_store()
    given = _given(options)
    if resolved:
        _show_resolved(store, name, given)
        return
    if given:
        raise click.UsageError("Setting options only apply with --resolved.")
    if name is None:
        name, _ = select_profile(app_context().profile, store, os.environ)
    _show_stored(store, name)


@command.command("add")
@click.argument("name")
@_setting_options
@json_option
def add(name: str, **options: Any) -> None:
    """Create profile NAME with the given settings."""
    store = app_context().profile_store()
    values = _typed(_given(options))
    made_default = store.add(name, values)
    _warn_missing_ca_bundle(values)
    note = " and made it the default" if made_default else ""
    message(f"Added profile {name!r}{note}.")
    emit({"name": name, "default": made_default, "settings": store.get(name)}, _nothing)


@command.command("set", context_settings={"ignore_unknown_options": True})
@click.argument("name")
@click.argument("key")
@click.argument("value")
@json_option
def set_key(name: str, key: str, value: str) -> None:
    """Set KEY of profile NAME to VALUE.

    Keys: server, auth_method, email, verify_tls, ca_bundle, timeout, workspace,
    and any key an installed auth method declares.
    """
    store = app_context().profile_store()
    store.require(name)
    spec = _key_spec(key)
    typed = spec.parse(value)
    store.update(name, {key: typed}, create=False)
    _warn_missing_ca_bundle({key: typed} if spec.kind == "path" else {})
    message(f"Set {key} = {setting_text(typed)} in profile {name!r}.")
    emit({"name": name, "key": key, "value": typed}, _nothing)


@command.command("unset")
@click.argument("name")
@click.argument("key")
@json_option
def unset(name: str, key: str) -> None:
    """Remove KEY from profile NAME, so that its default applies."""
    store = app_context().profile_store()
    stored = store.require(name)
    if key not in stored:
        _key_spec(key)
    removed = store.unset(name, key)
    if removed:
        message(f"Removed {key} from profile {name!r}.")
    else:
        message(f"Profile {name!r} has no {key} set; nothing to remove.")
    emit({"name": name, "key": key, "removed": removed}, _nothing)


@command.command("rename")
@click.argument("old")
@click.argument("new")
@json_option
def rename(old: str, new: str) -> None:
    """Rename profile OLD to NEW, with its stored session."""
    from dify_cli.sessions import session_file_stem

    ctx = app_context()
    sessions = ctx.session_store()
    if not (sessions.path_for(old).exists() or sessions.path_for(new).exists()):
        ctx.profile_store().rename(old, new)
    else:
        # Found out after the profile moved, a session that cannot move would
        # stay behind under the old name: check, and lock, first.
        sessions.check_writable()
        first, second = sorted((old, new), key=session_file_stem)
        with sessions.lock(first), sessions.lock(second):
            ctx.profile_store().rename(old, new)
            sessions.rename(old, new)
    message(f"Renamed profile {old!r} to {new!r}.")
    emit({"old": old, "new": new}, _nothing)


@command.command("remove")
@click.argument("name")
@json_option
def remove(name: str) -> None:
    """Delete profile NAME and its stored session."""
    ctx = app_context()
    sessions = ctx.session_store()
    if not sessions.path_for(name).exists():
        ctx.profile_store().remove(name)
        had_session = sessions.delete(name)
    else:
        sessions.check_writable()
        with sessions.lock(name):
            ctx.profile_store().remove(name)
            had_session = sessions.delete(name)
    also = " and its stored session" if had_session else ""
    message(f"Removed profile {name!r}{also}.")
    emit({"name": name, "session_deleted": had_session}, _nothing)


@command.command("use")
@click.argument("name")
@json_option
def use(name: str) -> None:
    """Make NAME the default profile."""
    app_context().profile_store().use(name)
    message(f"Profile {name!r} is now the default.")
    emit({"default_profile": name}, _nothing)
