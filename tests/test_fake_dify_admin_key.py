"""The fake Dify server's admin API key: who a request acts as, and the CSRF rule."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.fake_dify.client import call, login

if TYPE_CHECKING:
    from tests.fake_dify.fixtures import FakeDifyFactory

KEY = "admin-key-0123456789"


def key_headers(workspace_id: str | None, key: str = KEY) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {key}"}
    if workspace_id is not None:
        headers["X-WORKSPACE-ID"] = workspace_id
    return headers


@pytest.mark.parametrize(
    ("generation", "version"),
    [("legacy", None), ("cookie", "1.11.0"), ("cookie", None), ("modern", None)],
)
def test_the_key_acts_as_the_workspace_owner_without_csrf(
    fake_dify: FakeDifyFactory, generation: str, version: str | None
) -> None:
    fake = fake_dify(generation, version=version, admin_api_key=KEY)
    workspace = fake.account.workspaces[0]

    profile = call(
        fake, "GET", "/account/profile", headers=key_headers(workspace["id"])
    )

    assert profile.status_code == 200, profile.text
    assert profile.json()["email"] == fake.account.email


def test_the_workspace_header_picks_the_current_workspace_for_one_request(
    fake_dify: FakeDifyFactory,
) -> None:
    fake = fake_dify("modern", admin_api_key=KEY)
    first = fake.account.workspaces[0]
    second = fake.add_workspace(fake.account, "Second")

    listed = call(fake, "GET", "/workspaces", headers=key_headers(second["id"]))

    assert listed.status_code == 200
    current = [w["id"] for w in listed.json()["workspaces"] if w["current"]]
    assert current == [second["id"]]
    # Nothing is stored: the account's own current workspace is unchanged.
    assert fake.account.current_workspace_id == first["id"]


def test_only_the_owner_is_acted_as(fake_dify: FakeDifyFactory) -> None:
    fake = fake_dify("modern", admin_api_key=KEY)
    other = fake.add_account("member@example.com", "Passw0rd!Other")
    shared = fake.account.workspaces[0]
    other.workspaces.append({**shared, "role": "editor"})

    profile = call(fake, "GET", "/account/profile", headers=key_headers(shared["id"]))

    assert profile.json()["email"] == fake.account.email


@pytest.mark.parametrize(
    ("workspace_id", "key", "enabled"),
    [
        (None, KEY, True),  # no workspace header
        ("00000000-0000-0000-0000-000000000000", KEY, True),  # unknown workspace
        ("first", "wrong-key", True),
        ("first", KEY, False),  # ADMIN_API_KEY_ENABLE off
    ],
)
def test_anything_else_is_checked_as_an_ordinary_token(
    fake_dify: FakeDifyFactory, workspace_id: str | None, key: str, enabled: bool
) -> None:
    fake = fake_dify("modern", admin_api_key=KEY if enabled else None)
    if workspace_id == "first":
        workspace_id = fake.account.workspaces[0]["id"]

    profile = call(
        fake, "GET", "/account/profile", headers=key_headers(workspace_id, key)
    )

    assert profile.status_code == 401
    assert profile.json()["message"] == "Invalid token."


def test_before_1_11_cookie_servers_still_want_the_csrf_token(
    fake_dify: FakeDifyFactory,
) -> None:
    fake = fake_dify("cookie", version="1.10.1", admin_api_key=KEY)
    workspace = fake.account.workspaces[0]

    profile = call(
        fake, "GET", "/account/profile", headers=key_headers(workspace["id"])
    )

    assert profile.status_code == 401
    assert profile.json()["message"] == "CSRF token is missing or invalid."


def test_a_session_cookie_takes_precedence_over_the_key(
    fake_dify: FakeDifyFactory,
) -> None:
    fake = fake_dify("modern", admin_api_key=KEY)
    member = fake.add_account("member@example.com", "Passw0rd!Other")
    session = login(fake, member.email, "Passw0rd!Other")
    workspace = fake.account.workspaces[0]
    headers = {**session.headers(), **key_headers(workspace["id"])}

    profile = call(fake, "GET", "/account/profile", headers=headers)

    assert profile.status_code == 200
    assert profile.json()["email"] == member.email


def test_before_1_9_2_the_key_counts_only_as_a_bearer_header(
    fake_dify: FakeDifyFactory,
) -> None:
    fake = fake_dify("legacy", admin_api_key=KEY)
    workspace = fake.account.workspaces[0]
    headers = {"X-WORKSPACE-ID": workspace["id"]}

    profile = call(fake, "GET", f"/account/profile?_token={KEY}", headers=headers)

    assert profile.status_code == 401
    assert profile.json()["message"] == "Invalid token."
