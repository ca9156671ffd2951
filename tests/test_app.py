"""`dify app list` and `dify app export`, against each server generation."""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

import pytest
import yaml

from tests.fake_dify import Fault

if TYPE_CHECKING:
    from pathlib import Path

    from tests.conftest import DifyRunner, Result
    from tests.fake_dify import FakeDify
    from tests.fake_dify.fixtures import FakeDifyFactory

EMAIL = "admin@example.com"
PASSWORD = "Passw0rd!Example"
GENERATIONS = ["legacy", "cookie", "modern"]


def connect(dify: DifyRunner, fake: FakeDify, *args: str) -> None:
    result = dify(
        *args, "connect", "--server", fake.url, "--email", EMAIL,
        "--password-stdin", input=PASSWORD + "\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    fake.reset_counts()


def one_error(result: Result, code: int, text: str) -> None:
    assert result.exit_code == code, result.output
    assert result.stderr.startswith("Error: ")
    assert text in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


# Listing


@pytest.mark.parametrize("generation", GENERATIONS)
def test_list_follows_every_page(
    fake_dify: FakeDifyFactory, dify: DifyRunner, generation: str
) -> None:
    fake = fake_dify(generation)
    made = [fake.apps.add(f"App {n:03}", "workflow") for n in range(250)]
    connect(dify, fake)
    result = dify("app", "list")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 250
    assert lines[0].split() == [made[-1].id, "workflow", "App", "249"]
    # 250 apps at 100 a page: three requests, nothing else.
    assert fake.counts == {"GET /console/api/apps": 3}
    pages = [r.path for r in fake.requests]
    assert all("limit=100" in path for path in pages)
    assert [p.split("page=")[1][:1] for p in pages] == ["1", "2", "3"]


def test_list_as_json_with_filters(
    fake_dify: FakeDifyFactory, dify_proc: DifyRunner, dify: DifyRunner
) -> None:
    fake = fake_dify("modern")
    fake.apps.add("Support bot", "chat")
    fake.apps.add("Support flow", "advanced-chat")
    fake.apps.add("Other", "chat")
    connect(dify, fake)
    result = dify_proc("app", "list", "--mode", "chat", "--name", "SUPPORT", "--json")
    assert result.exit_code == 0, result.output
    apps = json.loads(result.stdout)
    assert [(a["name"], a["mode"]) for a in apps] == [("Support bot", "chat")]
    assert set(apps[0]) == {
        "id", "name", "mode", "description", "tags", "created_at", "updated_at"
    }  # fmt: skip
    assert "mode=chat" in fake.requests[0].path
    assert "name=SUPPORT" in fake.requests[0].path


def test_list_modes_an_old_server_lacks(
    fake_dify: FakeDifyFactory, dify: DifyRunner
) -> None:
    # Before 1.1.3 the server refuses mode=completion and lists completion
    # apps under workflow; the command asks for that and keeps the right ones.
    fake = fake_dify("legacy", version="1.1.2")
    fake.apps.add("Flow", "workflow")
    fake.apps.add("Writer", "completion")
    connect(dify, fake)
    result = dify("app", "list", "--mode", "completion")
    assert result.exit_code == 0, result.output
    assert result.stdout.split()[1:] == ["completion", "Writer"]
    assert "mode=workflow" in fake.requests[0].path


def test_list_nothing(fake_dify: FakeDifyFactory, dify: DifyRunner) -> None:
    fake = fake_dify("cookie")
    connect(dify, fake)
    result = dify("app", "list")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "No apps" in result.stderr


def test_list_apps_of_the_current_workspace_only(
    fake_dify: FakeDifyFactory, dify: DifyRunner
) -> None:
    fake = fake_dify("modern")
    team = fake.add_workspace(fake.account, "Team B")
    fake.apps.add("Mine", "chat")
    fake.apps.add("Theirs", "chat", workspace=team)
    connect(dify, fake)
    assert "Mine" in dify("app", "list").stdout
    assert dify("workspace", "switch", "Team B").exit_code == 0
    listed = dify("app", "list").stdout
    assert "Theirs" in listed
    assert "Mine" not in listed


# Exporting one app


@pytest.mark.parametrize("generation", GENERATIONS)
def test_export_by_name_to_stdout(
    fake_dify: FakeDifyFactory,
    dify: DifyRunner,
    dify_proc: DifyRunner,
    generation: str,
) -> None:
    fake = fake_dify(generation)
    app = fake.apps.add("My App", "workflow")
    connect(dify, fake)
    result = dify_proc("app", "export", "My App")
    assert result.exit_code == 0, result.output
    dsl = yaml.safe_load(result.stdout)
    assert dsl["kind"] == "app"
    assert dsl["app"]["name"] == "My App"
    assert fake.count("GET", f"apps/{app.id}/export") == 1
    assert "include_secret=false" in fake.requests[-1].path
    assert result.stderr == ""


def test_export_by_id_to_a_file(
    fake_dify: FakeDifyFactory, dify: DifyRunner, tmp_path: Path
) -> None:
    fake = fake_dify("modern")
    app = fake.apps.add("My App", "chat")
    connect(dify, fake)
    target = tmp_path / "my-app.yml"
    target.write_text("old content")
    result = dify("app", "export", app.id, "-o", str(target))
    assert result.exit_code == 0, result.output
    assert yaml.safe_load(target.read_text())["app"]["mode"] == "chat"
    assert result.stdout.startswith(f"Exported {app.id} to {target}")
    # An id needs no lookup.
    assert fake.counts == {f"GET /console/api/apps/{app.id}/export": 1}
    if os.name == "posix":
        assert target.stat().st_mode & 0o777 == 0o644


def test_include_secret(
    fake_dify: FakeDifyFactory, dify: DifyRunner, tmp_path: Path
) -> None:
    fake = fake_dify("cookie")
    secret = {"name": "KEY", "value": "s3cret", "value_type": "secret"}
    graph = {"graph": {"nodes": []}, "environment_variables": [secret]}
    fake.apps.add("Keyed", "workflow", graph=graph)
    connect(dify, fake)

    plain = dify("app", "export", "Keyed")
    assert "s3cret" not in plain.stdout

    target = tmp_path / "keyed.yml"
    result = dify("app", "export", "Keyed", "--include-secret", "-o", str(target))
    assert result.exit_code == 0, result.output
    assert "s3cret" in target.read_text()
    assert "include_secret=true" in fake.requests[-1].path
    if os.name == "posix":
        assert target.stat().st_mode & 0o777 == 0o600


def test_export_json_carries_the_dsl(
    fake_dify: FakeDifyFactory, dify: DifyRunner
) -> None:
    fake = fake_dify("modern")
    app = fake.apps.add("My App", "workflow")
    connect(dify, fake)
    data = json.loads(dify("app", "export", "My App", "--json").stdout)
    assert data["id"] == app.id
    assert data["name"] == "My App"
    assert yaml.safe_load(data["dsl"])["app"]["name"] == "My App"


def test_unknown_name_suggests_the_nearest(
    fake_dify: FakeDifyFactory, dify: DifyRunner
) -> None:
    fake = fake_dify("modern")
    fake.apps.add("Customer support", "chat")
    fake.apps.add("Invoice reader", "workflow")
    connect(dify, fake)
    result = dify("app", "export", "Customer suport")
    one_error(result, 1, "No app named 'Customer suport' in the current workspace.")
    assert "Did you mean 'Customer support'?" in result.stderr
    assert "Invoice" not in result.stderr
    assert fake.count("GET", "apps") == 2

    result = dify("app", "export", "zzz")
    one_error(result, 1, "See `dify app list`.")


def test_ambiguous_name_lists_the_ids(
    fake_dify: FakeDifyFactory, dify: DifyRunner
) -> None:
    fake = fake_dify("legacy")
    one = fake.apps.add("Twin", "chat")
    two = fake.apps.add("Twin", "workflow")
    fake.apps.add("Twin brother", "chat")
    connect(dify, fake)
    result = dify("app", "export", "Twin")
    one_error(result, 2, "2 apps are named 'Twin'")
    assert f"{two.id} (workflow), {one.id} (chat)" in result.stderr
    assert "Give the id instead." in result.stderr
    assert fake.count("GET", f"apps/{one.id}/export") == 0


def test_unknown_id(fake_dify: FakeDifyFactory, dify: DifyRunner) -> None:
    fake = fake_dify("cookie")
    connect(dify, fake)
    missing = "00000000-0000-4000-8000-000000000000"
    result = dify("app", "export", missing)
    one_error(result, 1, f"No app with the id {missing} in the current workspace.")


def test_export_needs_an_editing_role(
    fake_dify: FakeDifyFactory, dify: DifyRunner
) -> None:
    fake = fake_dify("modern")
    fake.apps.add("My App", "chat")
    workspace = fake.account.current_workspace
    assert workspace is not None
    workspace["role"] = "normal"
    connect(dify, fake)
    result = dify("app", "export", "My App")
    one_error(result, 4, "Your role in this workspace does not allow exporting apps")


def test_export_to_a_folder_that_does_not_exist(
    fake_dify: FakeDifyFactory, dify: DifyRunner, tmp_path: Path
) -> None:
    fake = fake_dify("modern")
    fake.apps.add("My App", "chat")
    connect(dify, fake)
    target = tmp_path / "missing" / "my-app.yml"
    result = dify("app", "export", "My App", "-o", str(target))
    one_error(
        result, 3, f"Cannot write {target}: the folder {target.parent} does not exist."
    )
    assert not target.parent.exists()
    assert fake.counts == {}


# Exporting every app


def test_export_all_one_safe_file_per_app(
    fake_dify: FakeDifyFactory, dify: DifyRunner, tmp_path: Path
) -> None:
    fake = fake_dify("cookie")
    fake.apps.add("Support / FAQ bot", "chat")
    twin_a = fake.apps.add("Twin", "workflow")
    twin_b = fake.apps.add("twin", "chat")
    fake.apps.add("客服", "chat")
    fake.apps.add("../etc", "chat")
    fake.apps.add("CON", "chat")
    connect(dify, fake)
    out = tmp_path / "backup"
    result = dify("app", "export", "--all", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [
            "support-faq-bot.yml",
            f"twin-{twin_a.id[:8]}.yml",
            f"twin-{twin_b.id[:8]}.yml",
            "客服.yml",
            "etc.yml",
            "con-app.yml",
        ]
    )
    dsl = yaml.safe_load((out / "support-faq-bot.yml").read_text())
    assert dsl["app"]["name"] == "Support / FAQ bot"
    assert "Exported 6 apps to" in result.stderr
    assert fake.count("GET", "apps") == 1
    # No progress bar when stderr is not a terminal.
    assert "Exporting apps" not in result.stderr


def test_export_all_never_overwrites_without_force(
    fake_dify: FakeDifyFactory, dify: DifyRunner, tmp_path: Path
) -> None:
    fake = fake_dify("modern")
    fake.apps.add("One", "chat")
    fake.apps.add("Two", "chat")
    connect(dify, fake)
    out = tmp_path / "out"
    out.mkdir()
    (out / "two.yml").write_text("mine")
    result = dify("app", "export", "--all", "-o", str(out))
    one_error(result, 2, "1 of the files already exist")
    assert "nothing was written" in result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["two.yml"]
    assert (out / "two.yml").read_text() == "mine"
    assert fake.count("GET", "apps") == 1
    assert sum(fake.counts.values()) == 1

    result = dify("app", "export", "--all", "-o", str(out), "--force", "--json")
    assert result.exit_code == 0, result.output
    files = sorted(item["file"] for item in json.loads(result.stdout))
    assert files == [str(out / "one.yml"), str(out / "two.yml")]
    assert "mine" not in (out / "two.yml").read_text()


def test_export_all_stops_at_a_failure_and_says_how_far_it_got(
    fake_dify: FakeDifyFactory, dify: DifyRunner, tmp_path: Path
) -> None:
    fake = fake_dify("modern")
    first = fake.apps.add("First", "chat")
    fake.apps.add("Second", "chat")
    connect(dify, fake)
    out = tmp_path / "out"
    fake.fail_next(1, Fault.SERVER_ERROR, path=f"apps/{first.id}/export")
    result = dify("app", "export", "--all", "-o", str(out))
    one_error(result, 1, "Exported 1 of 2 apps to")
    assert "then 'First' failed" in result.stderr
    # Newest first: Second was written whole before First failed.
    assert [p.name for p in out.iterdir()] == ["second.yml"]


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (["--all"], "--all needs a folder: -o DIR."),
        (["--all", "-o", "-"], "--all needs a folder: -o DIR."),
        (["My App", "--all", "-o", "x"], "Give either APP or --all, not both."),
        ([], "Name the app to export, or pass --all."),
    ],
)
def test_export_usage_errors(
    fake_dify: FakeDifyFactory, dify: DifyRunner, args: list[str], text: str
) -> None:
    fake = fake_dify("modern")
    connect(dify, fake)
    one_error(dify("app", "export", *args), 2, text)
    assert fake.counts == {}


def test_export_all_into_a_file(
    fake_dify: FakeDifyFactory, dify: DifyRunner, tmp_path: Path
) -> None:
    fake = fake_dify("modern")
    connect(dify, fake)
    target = tmp_path / "file"
    target.write_text("x")
    one_error(dify("app", "export", "--all", "-o", str(target)), 2, "is not a folder")


def test_pages_that_repeat_while_promising_more_stop_the_listing(
    fake_dify: FakeDifyFactory, dify: DifyRunner
) -> None:
    fake = fake_dify("modern")
    for number in range(101):
        fake.apps.add(f"App {number}", "chat")
    fake.apps.first_page_only = True
    connect(dify, fake)
    result = dify("app", "list")
    one_error(result, 1, "page 2 of apps repeats earlier pages while saying more")
    assert fake.count("GET", "apps") == 2
