"""`dify workspace list` and `dify workspace switch`."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.conftest import DifyRunner
    from tests.fake_dify import FakeDify
    from tests.fake_dify.fixtures import FakeDifyFactory

EMAIL = "admin@example.com"
PASSWORD = "Passw0rd!Example"


def connect(dify: DifyRunner, fake: FakeDify, *args: str) -> None:
    result = dify(
        *args, "connect", "--server", fake.url, "--email", EMAIL,
        "--password-stdin", input=PASSWORD + "\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    fake.reset_counts()


@pytest.mark.parametrize("generation", ["legacy", "cookie", "modern"])
def test_list_marks_the_current_workspace(
    fake_dify: FakeDifyFactory, dify: DifyRunner, generation: str
) -> None:
    fake = fake_dify(generation)
    fake.add_workspace(fake.account, "Team B")
    connect(dify, fake)
    result = dify("workspace", "list")
    assert result.exit_code == 0, result.output
    first, second = result.stdout.splitlines()
    assert first.startswith("* Admin's Workspace")
    assert first.endswith(fake.account.workspaces[0]["id"])
    assert second.startswith("  Team B")
    assert fake.counts == {"GET /console/api/workspaces": 1}


def test_list_as_json(fake_dify: FakeDifyFactory, dify: DifyRunner) -> None:
    fake = fake_dify("modern")
    team = fake.add_workspace(fake.account, "Team B")
    connect(dify, fake)
    result = dify("workspace", "list", "--json")
    assert result.exit_code == 0, result.output
    items = json.loads(result.stdout)
    assert [(i["name"], i["current"]) for i in items] == [
        ("Admin's Workspace", True),
        ("Team B", False),
    ]
    assert items[1]["id"] == team["id"]
    assert set(items[0]) == {"id", "name", "plan", "status", "created_at", "current"}


def test_switch_by_name_then_by_id(
    fake_dify: FakeDifyFactory, dify: DifyRunner, dify_proc: DifyRunner
) -> None:
    fake = fake_dify("cookie")
    first = fake.account.workspaces[0]
    team = fake.add_workspace(fake.account, "Team B")
    connect(dify, fake)

    result = dify_proc("workspace", "switch", "Team B")
    assert result.exit_code == 0, result.output
    assert f"Switched to workspace Team B ({team['id']})" in result.stdout
    assert fake.account.current_workspace_id == team["id"]
    assert fake.count("POST", "workspaces/switch") == 1

    result = dify("workspace", "switch", first["id"], "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "id": first["id"],
        "name": "Admin's Workspace",
        "switched": True,
    }
    assert fake.account.current_workspace_id == first["id"]


def test_switching_to_the_current_one_sends_no_switch(
    fake_dify: FakeDifyFactory, dify: DifyRunner
) -> None:
    fake = fake_dify("legacy")
    connect(dify, fake)
    result = dify("workspace", "switch", "Admin's Workspace")
    assert result.exit_code == 0, result.output
    assert "Already in workspace Admin's Workspace" in result.stdout
    assert fake.count("POST", "workspaces/switch") == 0


def test_unknown_workspace_lists_the_names(
    fake_dify: FakeDifyFactory, dify: DifyRunner
) -> None:
    fake = fake_dify("modern")
    fake.add_workspace(fake.account, "Team B")
    connect(dify, fake)
    result = dify("workspace", "switch", "Team C")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: No workspace 'Team C'")
    assert "\"Admin's Workspace\", 'Team B'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert fake.count("POST", "workspaces/switch") == 0


def test_ambiguous_name_lists_the_ids(
    fake_dify: FakeDifyFactory, dify: DifyRunner
) -> None:
    fake = fake_dify("modern")
    one = fake.add_workspace(fake.account, "Team")
    two = fake.add_workspace(fake.account, "Team")
    connect(dify, fake)
    result = dify("workspace", "switch", "Team")
    assert result.exit_code == 2
    assert f"2 workspaces are named 'Team': {one['id']}, {two['id']}" in result.stderr
    assert "Give the id instead." in result.stderr
    assert fake.count("POST", "workspaces/switch") == 0


def test_switch_away_from_the_profile_workspace_says_connect_returns(
    fake_dify: FakeDifyFactory, dify: DifyRunner
) -> None:
    fake = fake_dify("modern")
    fake.add_workspace(fake.account, "Team B")
    connect(dify, fake, "--profile", "p")
    assert dify("profile", "set", "p", "workspace", "Admin's Workspace").exit_code == 0
    result = dify("--profile", "p", "workspace", "switch", "Team B")
    assert result.exit_code == 0, result.output
    assert "switches back to it at the next login" in result.stderr


def test_not_connected(fake_dify: FakeDifyFactory, dify: DifyRunner) -> None:
    fake = fake_dify("modern")
    result = dify("workspace", "list", extra_env={"DIFY_URL": fake.url})
    assert result.exit_code == 4
    assert "is not connected" in result.stderr
    assert fake.counts == {}
