"""Effective settings: each from a flag, the environment, the profile or a default.

Every value remembers where it came from, so that `dify profile show --resolved`
can explain it and errors can point at the right place.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from dify_cli.errors import ConfigError
from dify_cli.profiles import CORE_KEYS, KeySpec, check_name

if TYPE_CHECKING:
    from collections.abc import Mapping

    from dify_cli.profiles import ProfileStore

Source = Literal["flag", "env", "profile", "default"]

# Strongest first: DIFY_* names win over the PSDIFY_* names kept for people
# coming from the PowerShell module.
ENV_VARS: dict[str, tuple[str, ...]] = {
    name: spec.env for name, spec in CORE_KEYS.items()
}
# These say "turn verification off", the opposite of verify_tls.
INVERTED_ENV_VARS = frozenset({"DIFY_INSECURE", "PSDIFY_DISABLE_SSL_VERIFICATION"})
PROFILE_ENV_VAR = "DIFY_PROFILE"
FALLBACK_PROFILE = "default"

DEFAULTS: dict[str, Any] = {
    "server": "https://cloud.dify.ai",
    "auth_method": "password",
    "email": None,
    "verify_tls": True,
    "ca_bundle": None,
    "timeout": 30.0,
    "workspace": None,
}


@dataclass(frozen=True)
class Setting:
    """One effective value and where it came from.

    ``origin`` names the exact place: the flag ("--server"), the environment
    variable ("DIFY_URL") or the profiles file; None for a built-in default.
    """

    value: Any
    source: Source
    origin: str | None = None


@dataclass(frozen=True)
class Settings:
    """The effective settings of one command run."""

    profile: str
    profile_source: Source
    profile_exists: bool
    values: dict[str, Setting] = field(default_factory=dict)
    profile_origin: str | None = None

    def get(self, key: str) -> Any:
        """The value of ``key``, or None if no such key was resolved."""
        setting = self.values.get(key)
        return None if setting is None else setting.value

    @property
    def server(self) -> str:
        return str(self.get("server"))

    @property
    def auth_method(self) -> str:
        return str(self.get("auth_method"))

    @property
    def email(self) -> str | None:
        email: str | None = self.get("email")
        return email

    @property
    def verify_tls(self) -> bool:
        return bool(self.get("verify_tls"))

    @property
    def ca_bundle(self) -> str | None:
        ca_bundle: str | None = self.get("ca_bundle")
        return ca_bundle

    @property
    def timeout(self) -> float:
        return float(self.get("timeout"))

    @property
    def workspace(self) -> str | None:
        workspace: str | None = self.get("workspace")
        return workspace


def _select(
    flag: str | None, store: ProfileStore, env: Mapping[str, str]
) -> tuple[str, Source, str | None]:
    if flag:
        return flag, "flag", "--profile"
    from_env = env.get(PROFILE_ENV_VAR, "").strip()
    if from_env:
        return from_env, "env", PROFILE_ENV_VAR
    default = store.default_name()
    if default:
        return default, "profile", f"default_profile in {store.path}"
    return FALLBACK_PROFILE, "default", None


def select_profile(
    flag: str | None, store: ProfileStore, env: Mapping[str, str]
) -> tuple[str, Source]:
    """The profile to use: --profile, else $DIFY_PROFILE, else default_profile,
    else the one named "default"."""
    name, source, _ = _select(flag, store, env)
    return name, source


def _at(origin: str, error: ConfigError) -> ConfigError:
    return ConfigError(f"{origin}: {error.message}", hint=error.hint)


def _flag_name(key: str, value: Any) -> str:
    option = "--" + key.replace("_", "-")
    if value is False:
        return "--no-" + option[2:]
    return option


def _from_flag(spec: KeySpec, value: Any) -> Setting:
    origin = _flag_name(spec.name, value)
    try:
        typed = spec.parse(value) if isinstance(value, str) else spec.check(value)
    except ConfigError as error:
        raise _at(origin, error) from error
    return Setting(typed, "flag", _flag_name(spec.name, typed))


def _from_env(spec: KeySpec, env: Mapping[str, str]) -> Setting | None:
    for name in spec.env:
        raw = env.get(name, "")
        if not raw.strip():
            continue
        try:
            if name in INVERTED_ENV_VARS:
                value = not KeySpec(name, "bool", "").parse(raw)
            else:
                value = spec.parse(raw)
        except ConfigError as error:
            raise _at(f"${name}", error) from error
        return Setting(value, "env", name)
    return None


def _from_profile(
    spec: KeySpec, stored: Mapping[str, Any], store: ProfileStore, profile: str
) -> Setting | None:
    if spec.name not in stored:
        return None
    try:
        value = spec.check(stored[spec.name])
    except ConfigError as error:
        raise _at(f"{store.path}, profile {profile!r}", error) from error
    if spec.kind == "path":
        value = str(Path(value).expanduser())
    return Setting(value, "profile", str(store.path))


def resolve(
    store: ProfileStore,
    profile_flag: str | None,
    flags: Mapping[str, Any],
    env: Mapping[str, str] | None = None,
    extra_keys: Mapping[str, KeySpec] | None = None,
) -> Settings:
    """Work out every setting: flag > environment > profile > built-in default.

    ``flags`` holds values given on the command line (None means not given);
    ``extra_keys`` are the keys auth-method plugins declare. A profile that does
    not exist is not an error here: ``profile_exists`` says so, and the caller
    decides (``dify connect`` may create it); but its name must be one a profile
    can have.
    """
    environ: Mapping[str, str] = os.environ if env is None else env
    name, source, origin = _select(profile_flag, store, environ)
    stored = store.get(name)
    if stored is None:
        # Checked before anything is sent: a name that cannot be saved would
        # otherwise fail only after logging in.
        try:
            check_name(name)
        except ConfigError as error:
            raise (_at(origin, error) if origin else error) from error
    keys = {**CORE_KEYS, **(extra_keys or {})}

    values: dict[str, Setting] = {}
    for key, spec in keys.items():
        flag = flags.get(key)
        setting = (
            (_from_flag(spec, flag) if flag is not None else None)
            or _from_env(spec, environ)
            or (_from_profile(spec, stored, store, name) if stored else None)
        )
        values[key] = setting or Setting(DEFAULTS.get(key), "default", None)

    return Settings(
        profile=name,
        profile_source=source,
        profile_exists=stored is not None,
        values=values,
        profile_origin=origin,
    )
