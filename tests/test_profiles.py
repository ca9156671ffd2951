"""The profile store: edits that keep the user's file, and files it must not touch."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dify_cli.errors import ConfigError
from dify_cli.profiles import CORE_KEYS, ProfileStore, check_name

HAND_WRITTEN = """\
# Profiles for the team's Dify servers.
# Ask ops before changing prod.

default_profile = "local"   # what runs when no --profile is given

# Docker compose on this laptop
[profiles.local]
server = "http://localhost"   # nginx on port 80
timeout = 30  # seconds; the laptop is slow

# Production, behind the company CA
[profiles.prod]
server   =   "https://dify.example.com"
email = 'ops@example.com'
ca_bundle = "/etc/ssl/company-ca.pem"

# Dify Cloud
[profiles.cloud]
server = "https://cloud.dify.ai"
auth_method = "code"
"""


@pytest.fixture
def store(tmp_path: Path) -> ProfileStore:
    path = tmp_path / "config" / "profiles.toml"
    path.parent.mkdir()
    path.write_text(HAND_WRITTEN, encoding="utf-8")
    return ProfileStore(path)


def _text(store: ProfileStore) -> str:
    return store.path.read_text(encoding="utf-8")


def test_reads_names_default_and_values(store: ProfileStore) -> None:
    assert store.names() == ["local", "prod", "cloud"]
    assert store.default_name() == "local"
    assert store.get("local") == {"server": "http://localhost", "timeout": 30}
    assert store.get("nope") is None


def test_changing_a_value_changes_nothing_else(store: ProfileStore) -> None:
    store.update("local", {"timeout": 45.0})
    assert _text(store) == HAND_WRITTEN.replace("timeout = 30", "timeout = 45")
    store.update("prod", {"email": "sre@example.com"})
    assert _text(store) == HAND_WRITTEN.replace("timeout = 30", "timeout = 45").replace(
        "'ops@example.com'", "'sre@example.com'"
    )


def test_a_new_key_goes_above_the_next_profiles_comment(store: ProfileStore) -> None:
    store.update("local", {"verify_tls": False})
    assert _text(store) == HAND_WRITTEN.replace("slow\n", "slow\nverify_tls = false\n")


def test_windows_line_endings_are_kept(store: ProfileStore) -> None:
    crlf = HAND_WRITTEN.replace("\n", "\r\n")
    store.path.write_bytes(crlf.encode())
    store.update("local", {"timeout": 10.0})
    assert (
        store.path.read_bytes() == crlf.replace("timeout = 30", "timeout = 10").encode()
    )


def test_a_byte_order_mark_and_windows_line_endings_survive_every_edit(
    store: ProfileStore,
) -> None:
    original = "\ufeff" + HAND_WRITTEN.replace("\n", "\r\n")
    store.path.write_bytes(original.encode())
    assert store.names() == ["local", "prod", "cloud"]

    store.add("extra", {"server": "https://extra.example.com", "timeout": 5.0})
    store.rename("extra", "spare")
    store.update("spare", {"email": "me@example.com"})
    raw = store.path.read_bytes()
    assert raw.startswith("\ufeff".encode())
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert store.get("spare") == {
        "server": "https://extra.example.com",
        "timeout": 5,
        "email": "me@example.com",
    }

    store.remove("spare")
    assert store.path.read_bytes() == original.encode()


def test_unset_removes_only_that_line(store: ProfileStore) -> None:
    assert store.unset("prod", "email") is True
    assert _text(store) == HAND_WRITTEN.replace("email = 'ops@example.com'\n", "")
    assert store.unset("prod", "email") is False


def test_rename_keeps_place_comments_and_default(store: ProfileStore) -> None:
    store.rename("local", "laptop")
    assert _text(store) == HAND_WRITTEN.replace('"local"', '"laptop"').replace(
        "[profiles.local]", "[profiles.laptop]"
    )
    with pytest.raises(ConfigError, match="already exists"):
        store.rename("laptop", "prod")


def test_remove_takes_its_comments_and_leaves_the_next_ones(
    store: ProfileStore,
) -> None:
    store.remove("prod")
    assert _text(store) == HAND_WRITTEN.replace(
        "# Production, behind the company CA\n[profiles.prod]\n"
        'server   =   "https://dify.example.com"\n'
        "email = 'ops@example.com'\n"
        'ca_bundle = "/etc/ssl/company-ca.pem"\n\n',
        "",
    )


def test_removing_the_default_clears_default_profile(store: ProfileStore) -> None:
    store.remove("local")
    assert store.default_name() is None
    text = _text(store)
    assert "local" not in text
    assert text.startswith("# Profiles for the team's Dify servers.\n")
    assert "# Production, behind the company CA\n[profiles.prod]" in text


def test_use_puts_a_new_default_below_the_header(tmp_path: Path) -> None:
    store = ProfileStore(tmp_path / "profiles.toml")
    without = HAND_WRITTEN.replace(
        'default_profile = "local"   # what runs when no --profile is given\n\n', ""
    )
    store.path.write_text(without, encoding="utf-8")
    store.use("prod")
    assert _text(store) == without.replace(
        "prod.\n\n", 'prod.\n\ndefault_profile = "prod"\n\n', 1
    )
    store.use("cloud")
    assert store.default_name() == "cloud"


def test_a_new_file_starts_with_an_explanation(tmp_path: Path) -> None:
    store = ProfileStore(tmp_path / "new" / "profiles.toml")
    store.add("local", {"server": "http://localhost"})
    text = _text(store)
    assert text.startswith("# dify profiles:")
    assert '[profiles.local]\nserver = "http://localhost"\n' in text
    if os.name == "posix":
        assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
        assert stat.S_IMODE(store.path.parent.stat().st_mode) == 0o700


def test_add_refuses_an_existing_profile(store: ProfileStore) -> None:
    with pytest.raises(ConfigError, match="already exists"):
        store.add("prod", {"timeout": 3.0})
    assert _text(store) == HAND_WRITTEN


def test_update_without_create_needs_the_profile(store: ProfileStore) -> None:
    with pytest.raises(ConfigError, match="Did you mean 'prod'"):
        store.update("prd", {"timeout": 3.0}, create=False)
    assert _text(store) == HAND_WRITTEN


def test_secret_looking_keys_are_refused(store: ProfileStore) -> None:
    for key in ("password", "refresh_token", "admin_api_key", "client_secret"):
        with pytest.raises(ConfigError, match="secret"):
            store.update("prod", {key: "x"})
    assert _text(store) == HAND_WRITTEN


def test_edits_write_through_a_symlink(tmp_path: Path, store: ProfileStore) -> None:
    link = tmp_path / "linked.toml"
    try:
        link.symlink_to(store.path)
    except OSError:
        pytest.skip("cannot create symlinks here")
    ProfileStore(link).update("local", {"timeout": 5.0})
    assert link.is_symlink()
    assert "timeout = 5" in _text(store)


@pytest.mark.parametrize(
    ("layout", "name"),
    [
        ('[profiles]\nlocal = { server = "http://localhost" }\nprod = {}\n', "local"),
        (
            'profiles.local.server = "http://localhost"\nprofiles.prod.timeout = 3\n',
            "local",
        ),
        (
            '[profiles.local]\nserver = "http://a"\n[other]\nx = 1\n[profiles.prod]\n',
            "prod",
        ),
        (
            '[profiles]\n\n[profiles.local]\nserver = "http://a"\n\n[profiles.prod]\n',
            "prod",
        ),
    ],
)
def test_other_layouts_are_edited_without_losing_data(
    tmp_path: Path, layout: str, name: str
) -> None:
    store = ProfileStore(tmp_path / "profiles.toml")
    store.path.write_text(layout, encoding="utf-8")
    store.update(name, {"email": "me@example.com"})
    assert store.get(name) == {
        **(ProfileStore(store.path).get(name) or {}),
        "email": "me@example.com",
    }
    other = next(n for n in store.names() if n != name)
    before = store.get(other)
    store.rename(name, "renamed")
    assert (store.get("renamed") or {}).get("email") == "me@example.com"
    store.remove("renamed")
    assert store.names() == [other]
    assert store.get(other) == before


@pytest.mark.parametrize(
    ("content", "where"),
    [
        ('[profiles.prod]\nserver = "https://x\n', "line 2"),
        ("[profiles.prod]\ntimeout = \n", "line 2, column 11"),
        ("[profiles.prod]\n[profiles.prod]\n", "line 2"),
        ('default_profile = "a"\ndefault_profile = "b"\n', "line 2"),
        ("[profiles\n", "line 1"),
        ("[profiles.prod]\nx = [\n", "ends in the middle of a value"),
    ],
)
def test_malformed_file_names_line_and_column_and_is_kept(
    store: ProfileStore, content: str, where: str
) -> None:
    store.path.write_text(content, encoding="utf-8")
    for action in (
        store.names,
        lambda: store.update("prod", {"timeout": 3.0}),
        lambda: store.use("prod"),
        lambda: store.remove("prod"),
    ):
        with pytest.raises(ConfigError) as caught:
            action()
        assert str(store.path) in caught.value.message
        assert where in caught.value.message
        assert "column" in caught.value.message
        assert "\n" not in str(caught.value)
    assert _text(store) == content


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("profiles = 1\n", "'profiles' must hold"),
        ("[profiles]\nprod = 3\n", "profile 'prod' must be a table"),
        ("default_profile = 3\n", "default_profile must be"),
    ],
)
def test_wrong_layout_is_an_error(store: ProfileStore, content: str, says: str) -> None:
    store.path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=says):
        store.names()
    with pytest.raises(ConfigError, match=says):
        store.update("x", {"timeout": 3.0})
    assert _text(store) == content


def test_file_that_is_not_utf8_is_an_error(store: ProfileStore) -> None:
    store.path.write_bytes(b"[profiles.\xff]\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        store.names()


@pytest.mark.parametrize("name", ["prod", "prod-eu", "prod.eu", "_x", "A1"])
def test_good_names(name: str) -> None:
    assert check_name(name) == name


@pytest.mark.parametrize(
    "name", ["", "a b", "-x", ".x", "a/b", 'a"b', "a]b", "a=b", "é", "x" * 65]
)
def test_bad_names(name: str) -> None:
    with pytest.raises(ConfigError):
        check_name(name)


# Round trip: whatever valid data is written reads back unchanged, comments kept.

_names = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,15}", fullmatch=True)
_text_values = st.text(
    st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30
).filter(str.strip)
# Addresses with awkward characters, but none an email may not hold.
_email_parts = st.text(
    st.characters(
        blacklist_categories=("Cs", "Cc", "Cf", "Co", "Cn", "Zs", "Zl", "Zp"),
        blacklist_characters="@",
    ),
    min_size=1,
    max_size=20,
)
_emails = st.builds("{}@{}".format, _email_parts, _email_parts)
_values = st.fixed_dictionaries(
    {},
    optional={
        "server": st.sampled_from(
            ["http://localhost", "https://dify.example.com", "http://[::1]:5001"]
        ),
        "auth_method": st.sampled_from(["password", "code", "token"]),
        "email": _emails,
        "verify_tls": st.booleans(),
        "ca_bundle": _text_values,
        "timeout": st.floats(min_value=0.001, max_value=86400),
        "workspace": _text_values,
    },
)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(_names, _values, max_size=4))
def test_round_trip_keeps_values_and_comments(
    profiles: dict[str, dict[str, Any]],
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = ProfileStore(Path(folder) / "profiles.toml")
        store.path.write_text(HAND_WRITTEN, encoding="utf-8")
        expected = {name: dict(store.get(name) or {}) for name in store.names()}
        for name, values in profiles.items():
            for key, value in values.items():
                CORE_KEYS[key].check(value)
            store.update(name, values)
            expected.setdefault(name, {}).update(values)

        reread = ProfileStore(store.path)
        assert reread.names() == list(expected)
        for name, values in expected.items():
            assert reread.get(name) == values

        comments = [line for line in HAND_WRITTEN.splitlines() if "#" in line]
        lines = iter(_text(store).splitlines())
        for comment in comments:
            assert any(comment.split("#")[1] in line for line in lines), comment


def test_the_example_file_is_valid_and_documents_every_key() -> None:
    from dify_cli.settings import resolve

    example = Path(__file__).resolve().parent.parent / "profiles.example.toml"
    store = ProfileStore(example)
    assert store.names() == ["local", "prod", "cloud"]
    for name in store.names():
        settings = resolve(store, name, {}, env={})
        assert settings.profile_exists
        assert all(
            s.source == "profile"
            for k, s in settings.values.items()
            if k in (store.get(name) or {})
        )
    assert (store.get("cloud") or {})["auth_method"] == "code"
    assert (store.get("local") or {})["server"].startswith("http://")
    assert "ca_bundle" in (store.get("prod") or {})
    text = example.read_text(encoding="utf-8")
    for key, spec in CORE_KEYS.items():
        assert f"#   {key}" in text
        for variable in spec.env:
            assert variable in text


def test_removing_the_last_profile_leaves_an_empty_file(tmp_path: Path) -> None:
    store = ProfileStore(tmp_path / "profiles.toml")
    store.add("solo", {})
    store.use("solo")
    store.remove("solo")
    assert store.names() == []
    assert store.default_name() is None
    assert "solo" not in _text(store)
    store.add("again", {"timeout": 3.0})
    assert store.get("again") == {"timeout": 3}


_operations = st.lists(
    st.tuples(
        st.sampled_from(["add", "set", "unset", "rename", "remove", "use"]),
        st.sampled_from(["a", "b", "c.d", "local", "prod"]),
        st.sampled_from(["a", "b", "c.d", "local", "prod"]),
        st.sampled_from(["email", "timeout", "workspace"]),
    ),
    max_size=12,
)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(_operations)
def test_any_sequence_of_edits_matches_a_plain_model(
    operations: list[tuple[str, str, str, str]],
) -> None:
    values = {"email": "x@example.com", "timeout": 7.0, "workspace": "w"}
    with tempfile.TemporaryDirectory() as folder:
        store = ProfileStore(Path(folder) / "profiles.toml")
        store.path.write_text(HAND_WRITTEN, encoding="utf-8")
        model = {name: dict(store.get(name) or {}) for name in store.names()}
        default: str | None = store.default_name()
        for operation, name, other, key in operations:
            try:
                if operation == "add":
                    store.add(name, {key: values[key]})
                    model[name] = {key: values[key]}
                elif operation == "set":
                    store.update(name, {key: values[key]}, create=False)
                    model[name][key] = values[key]
                elif operation == "unset":
                    store.unset(name, key)
                    model[name].pop(key, None)
                elif operation == "rename":
                    store.rename(name, other)
                    model = {other if n == name else n: v for n, v in model.items()}
                    default = other if default == name else default
                elif operation == "remove":
                    store.remove(name)
                    del model[name]
                    default = None if default == name else default
                else:
                    store.use(name)
                    default = name
            except ConfigError as refused:
                # Only refusals a user would expect; never "could not edit".
                assert refused.message.startswith(("No profile named", "Profile "))
                continue

            assert store.profiles() == model
            assert store.default_name() == default
        assert _text(store).startswith("# Profiles for the team's Dify servers.\n")
