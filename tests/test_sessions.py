"""The session store: private files, damaged files, safe names, rename and delete."""

from __future__ import annotations

import json
import os
import re
import stat
from typing import TYPE_CHECKING

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dify_cli.sessions import Session, SessionStore, session_file_stem

if TYPE_CHECKING:
    from pathlib import Path

posix_only = pytest.mark.skipif(os.name != "posix", reason="no permission bits")


def _session(**changes: object) -> Session:
    values: dict[str, object] = {
        "server": "https://dify.example.com",
        "server_version": "1.16.0",
        "generation": "modern",
        "auth_method": "password",
        "access_token": "access-secret",
        "refresh_token": "refresh-secret",
        "csrf_token": "csrf-secret",
        "cookie_names": {"access_token": "__Host-access_token"},
        "account": {"id": "a1", "email": "me@example.com", "name": "Me"},
        "obtained_at": 1700000000.0,
        "access_expires_at": 1700003600.0,
        "extra": {"admin_api_key": "k"},
        "pending": {"email": "me@example.com", "expires_at": 1700000300},
    }
    values.update(changes)
    return Session(**values)  # type: ignore[arg-type]


@pytest.fixture
def store(tmp_path: Path) -> SessionStore:
    return SessionStore(tmp_path / "state" / "sessions")


def test_save_then_load_gives_the_same_session(store: SessionStore) -> None:
    session = _session()
    store.save("prod", session)
    assert store.load("prod") == session
    assert store.load("other") is None


@posix_only
def test_files_are_private(store: SessionStore) -> None:
    store.save("prod", _session())
    assert stat.S_IMODE(store.directory.stat().st_mode) == 0o700
    assert stat.S_IMODE(store.path_for("prod").stat().st_mode) == 0o600


def test_save_replaces_without_leaving_temporary_files(store: SessionStore) -> None:
    store.save("prod", _session(access_token="one"))
    store.save("prod", _session(access_token="two"))
    loaded = store.load("prod")
    assert loaded is not None
    assert loaded.access_token == "two"
    assert sorted(p.suffix for p in store.directory.iterdir()) == [".json", ".lock"]


@pytest.mark.parametrize(
    "content",
    [
        "",
        "{",
        "[]",
        "null",
        '"text"',
        '{"server": "https://x"}',
        '{"server": 1, "generation": "modern", "auth_method": "password"}',
        '{"server": "https://x", "server_version": null, "generation": "modern",'
        ' "auth_method": "password", "cookie_names": []}',
        '{"server": "https://x", "server_version": null, "generation": "modern",'
        ' "auth_method": "password", "obtained_at": "yesterday"}',
        "[" * 100_000,
        *(
            '{"server": "https://x", "generation": "modern",'
            f' "auth_method": "password", "{key}": {number}}}'
            for key in ("obtained_at", "access_expires_at")
            for number in ("NaN", "Infinity", "-Infinity", "1e999", "-1", "1e300")
        ),
        '{"server": "https://x", "generation": "modern", "auth_method": "password",'
        ' "pending": {"sent_at": NaN}}',
    ],
)
def test_a_damaged_file_counts_as_no_session(
    store: SessionStore, content: str, caplog: pytest.LogCaptureFixture
) -> None:
    store.save("prod", _session())
    store.path_for("prod").write_text(content, encoding="utf-8")
    caplog.set_level("DEBUG", logger="dify_cli.sessions")
    assert store.load("prod") is None
    assert "damaged session file" in caplog.text


def test_undecodable_bytes_count_as_no_session(store: SessionStore) -> None:
    store.save("prod", _session())
    store.path_for("prod").write_bytes(b"\xff\xfe\x00garbage")
    assert store.load("prod") is None


def test_unknown_fields_from_a_newer_version_are_ignored(store: SessionStore) -> None:
    store.save("prod", _session())
    path = store.path_for("prod")
    data = json.loads(path.read_text(encoding="utf-8"))
    data["future_field"] = 1
    path.write_text(json.dumps(data), encoding="utf-8")
    assert store.load("prod") == _session()


def test_delete(store: SessionStore) -> None:
    assert store.delete("prod") is False
    store.save("prod", _session())
    assert store.delete("prod") is True
    assert store.load("prod") is None
    assert store.delete("prod") is False


def test_rename_moves_the_session_and_drops_a_stale_one(store: SessionStore) -> None:
    store.save("old", _session(access_token="mine"))
    store.save("new", _session(access_token="stale"))
    store.rename("old", "new")
    moved = store.load("new")
    assert moved is not None
    assert moved.access_token == "mine"
    assert store.load("old") is None

    # Renaming a profile without a session must not hand it someone else's.
    store.save("other", _session(access_token="stale"))
    store.rename("new", "elsewhere")
    store.rename("missing", "other")
    assert store.load("other") is None


def test_lock_is_reentrant_within_a_process(store: SessionStore) -> None:
    with store.lock("prod"), store.lock("prod"):
        store.save("prod", _session())
    assert store.load("prod") is not None


@pytest.mark.parametrize(
    "name",
    ["prod", "Prod", "a/b", "..", ".", "con", "CON", "nul", "com1", "", "é", "a b"],
)
def test_awkward_names_get_their_own_safe_file(store: SessionStore, name: str) -> None:
    store.save(name, _session(access_token=f"token-of-{name}"))
    path = store.path_for(name)
    assert path.parent == store.directory
    loaded = store.load(name)
    assert loaded is not None
    assert loaded.access_token == f"token-of-{name}"


_SAFE_STEM = re.compile(r"[a-z0-9_%A-F~-]{1,120}")
_WINDOWS_DEVICES = re.compile(r"(con|prn|aux|nul|com[0-9]|lpt[0-9])", re.IGNORECASE)


@given(st.text(max_size=300))
def test_file_stems_are_safe(name: str) -> None:
    stem = session_file_stem(name)
    assert _SAFE_STEM.fullmatch(stem)
    assert not _WINDOWS_DEVICES.fullmatch(stem)


@given(st.text(max_size=40), st.text(max_size=40))
def test_distinct_names_get_stems_distinct_even_ignoring_case(a: str, b: str) -> None:
    if a != b:
        assert session_file_stem(a).lower() != session_file_stem(b).lower()


def test_long_names_stay_distinct() -> None:
    base = "x" * 500
    assert session_file_stem(base + "a") != session_file_stem(base + "b")
    assert len(session_file_stem(base)) <= 120


def test_profiles_decodes_file_names_and_skips_foreign_ones(
    store: SessionStore,
) -> None:
    for name in ["prod", "Prod", "con", "é x", "a" * 200]:
        store.save(name, _session())
    (store.directory / "NotOurs.json").write_text("{}", encoding="utf-8")
    assert store.profiles() == sorted(["prod", "Prod", "con", "é x"])


@pytest.mark.parametrize("value", [1796351408000, float("nan"), 1e300, -1.0, 10**400])
def test_a_time_load_would_refuse_is_saved_as_unknown(
    tmp_path: Path, value: float
) -> None:
    store = SessionStore(tmp_path / "sessions")
    store.save("p", _session(access_expires_at=value, obtained_at=value))
    loaded = store.load("p")
    assert loaded is not None
    assert loaded.access_expires_at is None
    assert loaded.obtained_at is None


def test_a_session_that_would_not_load_back_is_not_saved(tmp_path: Path) -> None:
    from dify_cli.errors import DifyError

    store = SessionStore(tmp_path / "sessions")
    store.save("p", _session())
    with pytest.raises(DifyError, match="Could not save the session of profile 'p'"):
        store.save("p", _session(access_token="new", pending={"at": float("nan")}))
    loaded = store.load("p")
    assert loaded is not None
    assert loaded.access_token == "access-secret"
