"""Settings resolution: which profile, which value, and where each came from."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from dify_cli.errors import ConfigError
from dify_cli.profiles import KeySpec, ProfileStore
from dify_cli.settings import DEFAULTS, resolve, select_profile

if TYPE_CHECKING:
    from pathlib import Path

    from tests.conftest import DifyRunner


@pytest.fixture
def store(tmp_path: Path) -> ProfileStore:
    path = tmp_path / "profiles.toml"
    path.write_text(
        'default_profile = "prod"\n'
        "\n"
        "[profiles.prod]\n"
        'server = "https://prod.example.com"\n'
        'email = "ops@example.com"\n'
        "timeout = 60\n"
        "verify_tls = true\n"
        'ca_bundle = "~/ca.pem"\n'
        'sso_realm = "corp"\n'
        "\n"
        "[profiles.default]\n"
        'server = "https://fallback.example.com"\n'
        "\n"
        "[profiles.local]\n"
        'server = "http://localhost"\n',
        encoding="utf-8",
    )
    return ProfileStore(path)


def test_profile_selection_order(store: ProfileStore) -> None:
    env = {"DIFY_PROFILE": "local"}
    assert select_profile("other", store, env) == ("other", "flag")
    assert select_profile(None, store, env) == ("local", "env")
    assert select_profile(None, store, {}) == ("prod", "profile")
    store.path.write_text("[profiles.default]\n", encoding="utf-8")
    assert select_profile(None, store, {}) == ("default", "default")
    assert select_profile(None, store, {"DIFY_PROFILE": "  "}) == (
        "default",
        "default",
    )


def test_each_value_says_where_it_came_from(store: ProfileStore) -> None:
    settings = resolve(
        store,
        None,
        {"server": "https://flag.example.com/", "workspace": None},
        env={"DIFY_TIMEOUT": "5", "DIFY_EMAIL": "env@example.com"},
    )
    assert settings.profile == "prod"
    assert settings.profile_source == "profile"
    assert settings.profile_exists
    found = {key: (s.value, s.source, s.origin) for key, s in settings.values.items()}
    assert found["server"] == ("https://flag.example.com", "flag", "--server")
    assert found["email"] == ("env@example.com", "env", "DIFY_EMAIL")
    assert found["timeout"] == (5.0, "env", "DIFY_TIMEOUT")
    assert found["verify_tls"] == (True, "profile", str(store.path))
    assert found["auth_method"] == ("password", "default", None)
    assert found["workspace"] == (None, "default", None)
    assert settings.ca_bundle is not None
    assert not settings.ca_bundle.startswith("~")
    assert settings.timeout == 5.0


def test_dify_names_win_over_psdify_names(store: ProfileStore) -> None:
    env = {
        "PSDIFY_URL": "https://ps.example.com",
        "DIFY_URL": "https://dify.example.com",
        "PSDIFY_EMAIL": "ps@example.com",
        "PSDIFY_AUTH_METHOD": "code",
    }
    settings = resolve(store, "local", {}, env=env)
    assert settings.values["server"].origin == "DIFY_URL"
    assert settings.server == "https://dify.example.com"
    assert settings.values["email"].origin == "PSDIFY_EMAIL"
    assert settings.auth_method == "code"


@pytest.mark.parametrize(
    ("env", "verify", "origin"),
    [
        ({"DIFY_INSECURE": "1"}, False, "DIFY_INSECURE"),
        ({"DIFY_INSECURE": "true"}, False, "DIFY_INSECURE"),
        ({"DIFY_INSECURE": "0"}, True, "DIFY_INSECURE"),
        (
            {"PSDIFY_DISABLE_SSL_VERIFICATION": "true"},
            False,
            "PSDIFY_DISABLE_SSL_VERIFICATION",
        ),
        (
            {"DIFY_INSECURE": "false", "PSDIFY_DISABLE_SSL_VERIFICATION": "true"},
            True,
            "DIFY_INSECURE",
        ),
        ({"DIFY_INSECURE": ""}, True, str),
    ],
)
def test_insecure_variables_turn_verification_off(
    store: ProfileStore, env: dict[str, str], verify: bool, origin: object
) -> None:
    setting = resolve(store, "prod", {}, env=env).values["verify_tls"]
    assert setting.value is verify
    if isinstance(origin, str):
        assert setting.origin == origin
    else:
        assert setting.source == "profile"


def test_a_flag_beats_the_environment(store: ProfileStore) -> None:
    settings = resolve(store, "prod", {"verify_tls": False}, env={"DIFY_INSECURE": "0"})
    assert settings.values["verify_tls"].origin == "--no-verify-tls"
    assert settings.verify_tls is False


def test_missing_profile_is_reported_not_raised(store: ProfileStore) -> None:
    settings = resolve(store, "nowhere", {}, env={})
    assert not settings.profile_exists
    assert settings.server == DEFAULTS["server"]
    assert settings.values["server"].source == "default"


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"DIFY_TIMEOUT": "soon"}, "$DIFY_TIMEOUT: timeout must be a number"),
        ({"DIFY_TIMEOUT": "-3"}, "$DIFY_TIMEOUT"),
        ({"DIFY_INSECURE": "maybe"}, "$DIFY_INSECURE"),
        ({"DIFY_URL": "dify.example.com"}, "$DIFY_URL: Server URL"),
    ],
)
def test_bad_environment_values_name_the_variable(
    store: ProfileStore, env: dict[str, str], says: str
) -> None:
    with pytest.raises(ConfigError, match=says.replace("$", r"\$")):
        resolve(store, "prod", {}, env=env)


def test_bad_flag_values_name_the_flag(store: ProfileStore) -> None:
    with pytest.raises(ConfigError, match="--timeout"):
        resolve(store, "prod", {"timeout": "0"}, env={})


def test_bad_stored_values_name_the_file_and_profile(store: ProfileStore) -> None:
    store.path.write_text(
        '[profiles.prod]\ntimeout = "slow"\nverify_tls = "yes"\n', encoding="utf-8"
    )
    with pytest.raises(ConfigError) as caught:
        resolve(store, "prod", {}, env={})
    assert str(store.path) in caught.value.message
    assert "'prod'" in caught.value.message


def test_plugin_keys_resolve_like_core_keys(store: ProfileStore) -> None:
    realm = KeySpec("sso_realm", "str", "Realm.", ("DIFY_SSO_REALM",))
    settings = resolve(store, "prod", {}, env={}, extra_keys={"sso_realm": realm})
    assert settings.get("sso_realm") == "corp"
    assert settings.values["sso_realm"].source == "profile"
    settings = resolve(
        store, "prod", {}, env={"DIFY_SSO_REALM": "x"}, extra_keys={"sso_realm": realm}
    )
    assert settings.values["sso_realm"].origin == "DIFY_SSO_REALM"
    assert settings.get("not_a_key") is None


@pytest.mark.parametrize("timeout", ["1e10", "inf", "nan", "86401"])
def test_timeout_past_a_day_is_refused_from_every_source(
    dify: DifyRunner, config_dir: Path, timeout: str
) -> None:
    assert dify("profile", "add", "m", "--server", "http://127.0.0.1:9").exit_code == 0
    before = (config_dir / "profiles.toml").read_text()

    for args, env in [
        (("-p", "m", "status"), {"DIFY_TIMEOUT": timeout}),
        (("profile", "set", "m", "timeout", timeout), None),
        (("profile", "add", "n", "--timeout", timeout), None),
    ]:
        result = dify(*args, extra_env=env)
        assert result.exit_code == 3, result.output
        assert result.stderr.count("\n") == 1, result.stderr
        assert "at most 86400" in result.stderr
    assert (config_dir / "profiles.toml").read_text() == before

    with (config_dir / "profiles.toml").open("a") as file:
        file.write(f"timeout = {timeout}\n")
    result = dify("-p", "m", "status", "--offline")
    assert result.exit_code == 3, result.output
    assert "Traceback" not in result.output
