"""Loads the built-in and installed plugins once, and collects what they register.

Built-in auth methods are plugins like any other; installed packages add
theirs through entry points of the ``dify_cli`` group. ``DIFY_CLI_PLUGINS``
limits which installed plugins load: a comma-separated list of entry-point or
distribution names, and an empty value loads none (built-ins always load). A
plugin that fails to import, or raises while registering, is reported once on
stderr and left out; the tool keeps working without it. That includes a plugin
calling ``sys.exit()``, which would otherwise end every command without a
word; only KeyboardInterrupt passes through, as the user's Ctrl-C.

Nothing here runs at import time: the command line asks for plugins only when
a command needs them, so ``dify --version`` never scans the entry points.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from dataclasses import dataclass, field
from importlib import metadata
from typing import TYPE_CHECKING, Any

import pluggy

from dify_cli import hookspecs
from dify_cli.errors import ConfigError

if TYPE_CHECKING:
    from dify_cli.auth import AuthMethod, AuthOption
    from dify_cli.profiles import KeySpec

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "dify_cli"
PLUGINS_ENV = "DIFY_CLI_PLUGINS"
BUILTIN_PLUGINS = (
    "dify_cli.auth.password",
    "dify_cli.auth.code",
    "dify_cli.auth.token",
)

_KEY_KINDS = {"str": "str", "path": "path", "url": "url", "float": "float"}


@dataclass
class PluginInfo:
    """One plugin as ``dify plugins`` shows it.

    :ivar name: the plugin's name: the module of a built-in, the entry-point
        name of an installed plugin.
    :ivar builtin: whether it ships with dify.
    :ivar distribution: the installed package it comes from, and its version.
    :ivar hooks: the hooks it implements.
    :ivar auth_methods: the auth methods it registered.
    :ivar commands: the commands it added to ``dify``.
    :ivar error: why it was left out, or what it got wrong; None when fine.
    """

    name: str
    builtin: bool
    distribution: str | None = None
    version: str | None = None
    hooks: list[str] = field(default_factory=list)
    auth_methods: list[str] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def label(self) -> str:
        """How messages name it: its package when it has one."""
        if self.builtin:
            return f"built-in {self.name}"
        if self.distribution:
            return f"{self.distribution} {self.version or ''}".rstrip() + (
                f" (plugin {self.name!r})"
            )
        return f"plugin {self.name!r}"


@dataclass
class _Methods:
    """The auth methods registered so far, and who registered each."""

    methods: dict[str, AuthMethod] = field(default_factory=dict)
    options: dict[str, AuthOption] = field(default_factory=dict)
    owners: dict[str, PluginInfo] = field(default_factory=dict)
    clashes: dict[str, str] = field(default_factory=dict)


@dataclass
class _State:
    manager: pluggy.PluginManager
    plugins: dict[str, PluginInfo]
    methods: _Methods | None = None


_state: _State | None = None


def get_plugin_manager() -> pluggy.PluginManager:
    """The process's plugin manager, with built-ins and installed plugins loaded."""
    return _load().manager


def _load() -> _State:
    global _state
    if _state is not None:
        return _state
    manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    state = _State(manager, {})
    _state = state
    for module_name in BUILTIN_PLUGINS:
        info = PluginInfo(module_name, builtin=True)
        state.plugins[module_name] = info
        try:
            _register(manager, importlib.import_module(module_name), module_name)
        except KeyboardInterrupt:
            raise
        except BaseException as error:  # a broken built-in is a bug, not fatal
            _fail(info, "could not be loaded", error)
    for entry_point in _entry_points():
        dist = getattr(entry_point, "dist", None)
        info = PluginInfo(
            entry_point.name,
            builtin=False,
            distribution=dist.metadata["Name"] if dist is not None else None,
            version=dist.version if dist is not None else None,
        )
        if entry_point.name in state.plugins:
            other = state.plugins[entry_point.name]
            _fail(info, f"has the same name as {other.label}", None)
            continue
        state.plugins[entry_point.name] = info
        try:
            _register(manager, entry_point.load(), entry_point.name)
        except KeyboardInterrupt:
            raise
        except BaseException as error:
            _fail(info, "could not be loaded", error)
    _note_hooks(state)
    return state


def _register(manager: pluggy.PluginManager, plugin: Any, name: str) -> None:
    manager.register(plugin, name=name)


def _note_hooks(state: _State) -> None:
    for info in state.plugins.values():
        plugin = state.manager.get_plugin(info.name)
        if plugin is not None:
            info.hooks = sorted(
                caller.name for caller in state.manager.get_hookcallers(plugin) or []
            )


def _entry_points() -> list[metadata.EntryPoint]:
    wanted = os.environ.get(PLUGINS_ENV)
    found = list(metadata.entry_points(group=ENTRY_POINT_GROUP))
    if wanted is None:
        return found
    names = {name.strip() for name in wanted.split(",") if name.strip()}
    chosen = []
    matched = set(BUILTIN_PLUGINS)
    for entry_point in found:
        dist = getattr(entry_point, "dist", None)
        dist_name = dist.metadata["Name"] if dist is not None else None
        if entry_point.name in names or dist_name in names:
            chosen.append(entry_point)
            matched.add(entry_point.name)
            matched.add(dist_name or entry_point.name)
    unmatched = sorted(names - matched)
    if unmatched:
        # Said once: plugins load once per process. A typo would otherwise
        # leave a plugin out without a word.
        from dify_cli.terminal_text import printable

        listed = printable(", ".join(unmatched))
        sys.stderr.write(
            f"warning: {PLUGINS_ENV} names no installed plugin: {listed}.\n"
        )
    return chosen


def _fail(
    info: PluginInfo, what: str, error: BaseException | None, *, quiet: bool = False
) -> None:
    reason = ""
    if error is not None:
        detail = str(error)
        reason = f"{type(error).__name__}: {detail}" if detail else type(error).__name__
    problem = f"{what}{' (' + reason + ')' if reason else ''}"
    info.error = f"{info.error}; {problem}" if info.error else problem
    log.debug("plugin %s %s", info.name, what, exc_info=error)
    if quiet:
        return
    # Said once per process: plugins load once, and each hook runs once.
    from dify_cli.terminal_text import printable

    sys.stderr.write(f"warning: {printable(f'{info.label} {problem}')}; skipped.\n")


def load_plugin(plugin: object, name: str) -> None:
    """Load ``plugin`` as if an installed package announced it as ``name``.

    For a plugin's own tests, which run before (or without) the package being
    installed. ``plugin`` is a module or object with ``hookimpl`` functions.
    An installed plugin of the same name is already loaded and stays as it
    is. ``reset()`` forgets the plugin again.
    """
    state = _load()
    if name in state.plugins:
        return
    info = PluginInfo(name, builtin=False)
    state.plugins[name] = info
    try:
        _register(state.manager, plugin, name)
    except KeyboardInterrupt:
        raise
    except BaseException as error:
        _fail(info, "could not be loaded", error)
    _note_hooks(state)
    state.methods = None


def plugins() -> list[PluginInfo]:
    """Every plugin that was found, built-ins first, with what each added."""
    auth_methods()
    return list(_load().plugins.values())


def auth_methods() -> dict[str, AuthMethod]:
    """Every registered auth method by name, built-ins first."""
    return _registered().methods


def _registered() -> _Methods:
    state = _load()
    if state.methods is not None:
        return state.methods
    found = _Methods()
    for info in state.plugins.values():
        info.auth_methods = []
    for impl in state.manager.hook.register_auth_methods.get_hookimpls():
        info = state.plugins.get(impl.plugin_name) or PluginInfo(
            impl.plugin_name, builtin=False
        )

        def register(method: Any, info: PluginInfo = info) -> None:
            _add_method(method, info, found)

        try:
            impl.function(register=register)
        except KeyboardInterrupt:
            raise
        except BaseException as error:
            _fail(info, "failed while registering auth methods", error)
    state.methods = found
    return found


def _add_method(method: Any, info: PluginInfo, found: _Methods) -> None:
    from dify_cli.auth import AuthMethod

    if not isinstance(method, AuthMethod):
        _fail(info, f"registered {type(method).__name__}, not an AuthMethod", None)
        return
    problems = method.problems()
    owner = found.owners.get(method.name)
    if owner is not None and owner.builtin:
        problems.append(f"auth method {method.name!r} is built in")
    for option in method.options:
        known = found.options.get(option.name)
        if known is not None and (known.kind, known.secret, known.profile_key) != (
            option.kind,
            option.secret,
            option.profile_key,
        ):
            problems.append(
                f"option {option.name!r} is declared differently by another method"
            )
    if problems:
        _fail(info, f"has an unusable auth method: {'; '.join(problems)}", None)
        return
    if method.name in found.clashes or owner is not None:
        _clash(method.name, info, found)
        return
    found.methods[method.name] = method
    found.owners[method.name] = info
    for option in method.options:
        found.options.setdefault(option.name, option)
    info.auth_methods.append(method.name)


def _clash(name: str, info: PluginInfo, found: _Methods) -> None:
    """Two installed plugins claim one method name: neither gets it.

    Which one loads first depends on the order of the entry points, so using
    either one silently would make the same command behave differently on
    two machines.
    """
    owner = found.owners.pop(name, None)
    if owner is not None:
        found.methods.pop(name, None)
        owner.auth_methods.remove(name)
        found.clashes[name] = (
            f"Auth method {name!r} is registered by both {owner.label} "
            f"and {info.label}."
        )
        _fail(owner, f"clashes with {info.label} over auth method {name!r}", None)
    else:
        found.clashes[name] = found.clashes[name].rstrip(".") + f" and {info.label}."
        _fail(info, f"clashes with others over auth method {name!r}", None)
        return
    _fail(
        info, f"clashes with {owner.label} over auth method {name!r}", None, quiet=True
    )


def auth_method(name: str) -> AuthMethod:
    """The auth method called ``name``; ConfigError when none (or two) is."""
    registered = _registered()
    methods = registered.methods
    if name in methods:
        return methods[name]
    clash = registered.clashes.get(name)
    if clash is not None:
        raise ConfigError(
            clash,
            hint=f"Uninstall one of them, or choose one with {PLUGINS_ENV}; "
            "`dify plugins` lists what is installed.",
        )
    known = ", ".join(sorted(methods)) or "none"
    raise ConfigError(
        f"Unknown auth method {name!r} (available: {known}).",
        hint="`dify plugins` lists the installed plugins and the methods they add.",
    )


def is_ambiguous(name: str) -> bool:
    """Whether two installed plugins claim auth method ``name``."""
    return name in _registered().clashes


def auth_options() -> dict[str, AuthOption]:
    """Every option of every auth method by name; a shared name appears once."""
    found: dict[str, AuthOption] = {}
    for method in auth_methods().values():
        for option in method.options:
            found.setdefault(option.name, option)
    return found


def auth_option_keys() -> dict[str, KeySpec]:
    """The profile keys auth methods add: their non-secret ``profile_key`` options."""
    from dify_cli.profiles import MAX_NUMBER, KeySpec

    keys: dict[str, KeySpec] = {}
    for option in auth_options().values():
        if option.profile_key and not option.secret and option.kind in _KEY_KINDS:
            keys[option.name] = KeySpec(
                option.name,
                _KEY_KINDS[option.kind],  # type: ignore[arg-type]
                option.help,
                env=option.env,
                maximum=MAX_NUMBER if option.kind == "float" else None,
            )
    return keys


def register_commands(cli: Any) -> None:
    """Let every plugin add its commands to the root group ``cli``.

    For the command-line layer only. A plugin that raises is reported once and
    skipped; commands it added before raising stay. A command name another
    plugin already added is taken back and reported; which names the command
    line itself reserves is for it to decide.
    """
    state = _load()
    added_by: dict[str, PluginInfo] = {}
    for impl in state.manager.hook.register_commands.get_hookimpls():
        info = state.plugins.get(impl.plugin_name) or PluginInfo(
            impl.plugin_name, builtin=False
        )
        before = dict(cli.commands)
        try:
            impl.function(cli=cli)
        except KeyboardInterrupt:
            raise
        except BaseException as error:
            _fail(info, "failed while adding commands", error)
        info.commands = []
        for name, command in list(cli.commands.items()):
            if before.get(name) is command:
                continue
            if name in added_by:
                cli.commands[name] = before[name]
                _fail(
                    info,
                    f"adds command {name!r}, which {added_by[name].label} "
                    "already added",
                    None,
                )
                continue
            added_by[name] = info
            info.commands.append(name)


def reset() -> None:
    """Forget the loaded plugins, so the next call loads them again (for tests)."""
    global _state
    _state = None
