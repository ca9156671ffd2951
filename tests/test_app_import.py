"""`dify app import`: both import APIs, the confirm step, and bad input."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
import yaml

from tests.fake_dify.apps import dsl_version
from tests.test_app import connect, one_error

if TYPE_CHECKING:
    from pathlib import Path

    from tests.conftest import DifyRunner
    from tests.fake_dify.fixtures import FakeDifyFactory

# The DSL version each default fake writes: 1.9.1, 1.11.1 and 1.16.0-rc1.
DSL_OF = {"legacy": "0.4.0", "cookie": "0.5.0", "modern": "0.6.0"}


def dsl(
    name: str = "Imported", mode: str = "workflow", version: str | None = "0.5.0"
) -> str:
    data: dict[str, object] = {
        "app": {"name": name, "mode": mode, "icon": "🤖", "description": ""},
        "kind": "app",
        "workflow": {"graph": {"nodes": [{"id": "start"}]}, "features": {}},
    }
    if version is not None:
        data["version"] = version
    return str(yaml.safe_dump(data, allow_unicode=True))


def write(tmp_path: Path, text: str, name: str = "app.yml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("generation", ["legacy", "cookie", "modern"])
def test_import_a_file(
    fake_dify: FakeDifyFactory,
    dify: DifyRunner,
    dify_proc: DifyRunner,
    tmp_path: Path,
    generation: str,
) -> None:
    fake = fake_dify(generation)
    connect(dify, fake)
    path = write(tmp_path, dsl("Fresh", version=DSL_OF[generation]))
    result = dify_proc("app", "import", path)
    assert result.exit_code == 0, result.output
    (app,) = fake.apps.apps.values()
    assert app.name == "Fresh"
    assert app.graph["graph"] == {"nodes": [{"id": "start"}]}
    assert result.stdout.strip() == f"Imported app 'Fresh' (workflow): {app.id}"
    assert result.stderr == ""
    assert fake.count("POST", "apps/imports") == 1
    assert fake.count("GET", f"apps/{app.id}") == 1
    sent = json.loads(fake.requests[0].body)
    assert sent["mode"] == "yaml-content"
    assert yaml.safe_load(sent["yaml_content"])["app"]["name"] == "Fresh"


def test_import_json_and_name(
    fake_dify: FakeDifyFactory, dify: DifyRunner, tmp_path: Path
) -> None:
    fake = fake_dify("cookie")
    connect(dify, fake)
    path = write(tmp_path, dsl("From file"))
    result = dify("app", "import", path, "--name", "Renamed", "--json")
    assert result.exit_code == 0, result.output
    (app,) = fake.apps.apps.values()
    assert json.loads(result.stdout) == {
        "id": app.id,
        "name": "Renamed",
        "mode": "workflow",
        "status": "completed",
        "current_dsl_version": "0.5.0",
        "imported_dsl_version": "0.5.0",
        "warning": None,
        "confirmed": False,
    }


def test_newer_dsl_without_yes_imports_nothing(
    fake_dify: FakeDifyFactory, dify: DifyRunner, tmp_path: Path
) -> None:
    fake = fake_dify("cookie")
    connect(dify, fake)
    path = write(tmp_path, dsl(version="0.6.0"))
    result = dify("app", "import", path)
    one_error(result, 1, "The server asks to confirm this import.")
    assert "newer Dify (DSL version 0.6.0; this server reads 0.5.0)" in result.stderr
    assert "Pass --yes to import it anyway; nothing was imported." in result.stderr
    assert fake.apps.apps == {}
    assert fake.count("POST", "apps/imports") == 1
    assert sum(fake.counts.values()) == 1


def test_newer_dsl_with_yes_is_confirmed(
    fake_dify: FakeDifyFactory, dify: DifyRunner, tmp_path: Path
) -> None:
    fake = fake_dify("cookie")
    connect(dify, fake)
    path = write(tmp_path, dsl("Newer", version="0.6.0"))
    result = dify("app", "import", path, "--yes", "--json")
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("warning: This DSL comes from a newer Dify")
    (app,) = fake.apps.apps.values()
    data = json.loads(result.stdout)
    assert (data["id"], data["name"], data["status"]) == (app.id, "Newer", "completed")
    assert data["confirmed"] is True
    assert data["imported_dsl_version"] == "0.6.0"
    (confirm,) = [r for r in fake.requests if r.path.endswith("/confirm")]
    assert confirm.method == "POST"
    assert fake.apps.pending == {}


def test_confirm_too_late(
    fake_dify: FakeDifyFactory, dify: DifyRunner, tmp_path: Path
) -> None:
    fake = fake_dify("modern")
    fake.apps.import_ttl = 0
    connect(dify, fake)
    path = write(tmp_path, dsl(version="0.9.0"))
    result = dify("app", "import", path, "--yes")
    assert result.exit_code == 1
    assert (
        "Error: The server refused the import: "
        "Import information expired or does not exist." in result.stderr
    )
    assert fake.apps.apps == {}


def test_older_dsl_imports_with_a_warning(
    fake_dify: FakeDifyFactory, dify: DifyRunner, tmp_path: Path
) -> None:
    fake = fake_dify("cookie")
    connect(dify, fake)
    path = write(tmp_path, dsl("Old", version="0.4.0"))
    result = dify("app", "import", path)
    assert result.exit_code == 0, result.output
    assert "Imported app 'Old'" in result.stdout
    assert result.stderr.startswith(
        "warning: This DSL's version 0.4.0 is older than this server's 0.5.0"
    )
    assert fake.count("POST", "apps/imports") == 1
    assert len(fake.apps.apps) == 1


@pytest.mark.parametrize(
    ("version", "outcome"),
    [("0.1.5", "completed"), ("0.1.2", "warning"), ("0.0.9", "pending")],
)
def test_the_older_version_rule(
    fake_dify: FakeDifyFactory,
    dify: DifyRunner,
    tmp_path: Path,
    version: str,
    outcome: str,
) -> None:
    # Up to 1.3.0 (here 1.2.0, DSL 0.1.5) the patch decides a warning and
    # any other difference, older too, asks first.
    fake = fake_dify("legacy", version="1.2.0")
    connect(dify, fake)
    path = write(tmp_path, dsl(version=version))
    result = dify("app", "import", path)
    if outcome == "pending":
        one_error(result, 1, f"This DSL's version {version} differs")
        assert fake.apps.apps == {}
        return
    assert result.exit_code == 0, result.output
    assert ("warning:" in result.stderr) == (outcome == "warning")


def test_replace_a_workflow_app(
    fake_dify: FakeDifyFactory, dify: DifyRunner, tmp_path: Path
) -> None:
    fake = fake_dify("modern")
    target = fake.apps.add("Target", "workflow")
    connect(dify, fake)
    path = write(tmp_path, dsl("Target", version="0.6.0"))
    result = dify("app", "import", path, "--app-id", target.id)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"Updated app 'Target' (workflow): {target.id}"
    assert list(fake.apps.apps) == [target.id]
    assert target.graph["graph"] == {"nodes": [{"id": "start"}]}
    assert json.loads(fake.requests[0].body)["app_id"] == target.id

    # The app may be named instead of its id.
    result = dify("app", "import", path, "--app-id", "Target")
    assert result.exit_code == 0, result.output
    assert list(fake.apps.apps) == [target.id]


def test_replace_refused_for_a_chat_app(
    fake_dify: FakeDifyFactory, dify: DifyRunner, tmp_path: Path
) -> None:
    fake = fake_dify("cookie")
    chat = fake.apps.add("Chat", "chat")
    connect(dify, fake)
    path = write(tmp_path, dsl())
    result = dify("app", "import", path, "--app-id", chat.id)
    one_error(
        result,
        1,
        "The server refused the import: "
        "Only workflow or advanced chat apps can be overwritten.",
    )
    assert chat.graph.get("graph") is None


def test_yaml_the_server_cannot_parse(
    fake_dify: FakeDifyFactory, dify: DifyRunner, tmp_path: Path
) -> None:
    fake = fake_dify("modern")
    connect(dify, fake)
    path = write(tmp_path, "version: 0.6.0\napp: [unclosed\n  name: x\n")
    result = dify("app", "import", path)
    one_error(result, 1, "The server refused the import: Invalid YAML format")
    assert fake.apps.apps == {}


def test_import_needs_an_editing_role(
    fake_dify: FakeDifyFactory, dify: DifyRunner, tmp_path: Path
) -> None:
    fake = fake_dify("modern")
    workspace = fake.account.current_workspace
    assert workspace is not None
    workspace["role"] = "normal"
    connect(dify, fake)
    result = dify("app", "import", write(tmp_path, dsl(version="0.6.0")))
    one_error(result, 4, "does not allow importing apps")


@pytest.mark.parametrize("version", ["1.16.0-rc1", "1.2.0", "0.11.2"])
def test_a_full_app_quota_is_not_blamed_on_the_role(
    fake_dify: FakeDifyFactory, dify: DifyRunner, tmp_path: Path, version: str
) -> None:
    fake = fake_dify(version=version, cloud=True)
    fake.apps.quota = 1
    fake.apps.add("Existing")
    connect(dify, fake)
    path = write(tmp_path, dsl(version=dsl_version(version)))
    result = dify("app", "import", path)
    one_error(
        result,
        1,
        "Error: The server refused the import: "
        "The number of apps has reached the limit of your subscription.",
    )
    assert "role" not in result.stderr
    assert [app.name for app in fake.apps.apps.values()] == ["Existing"]


# Servers before 0.12.0: POST /apps/import, and the draft import to replace


def test_old_server_import_route(
    fake_dify: FakeDifyFactory, dify: DifyRunner, tmp_path: Path
) -> None:
    fake = fake_dify("legacy", version="0.11.2")
    connect(dify, fake)
    # The old route never asks for confirmation, whatever the version.
    path = write(tmp_path, dsl("Old route", mode="chat", version="0.6.0"))
    result = dify("app", "import", path, "--json")
    assert result.exit_code == 0, result.output
    (app,) = fake.apps.apps.values()
    data = json.loads(result.stdout)
    assert (data["id"], data["name"], data["mode"]) == (app.id, "Old route", "chat")
    assert fake.counts == {"POST /console/api/apps/import": 1}
    assert "yaml_content" not in fake.requests[0].body
    assert yaml.safe_load(json.loads(fake.requests[0].body)["data"])


def test_old_server_replaces_the_draft_workflow(
    fake_dify: FakeDifyFactory, dify: DifyRunner, tmp_path: Path
) -> None:
    fake = fake_dify("legacy", version="0.11.2")
    target = fake.apps.add("Flow", "workflow")
    connect(dify, fake)
    path = write(tmp_path, dsl("Flow"))
    result = dify("app", "import", path, "--app-id", target.id)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"Updated app 'Flow' (workflow): {target.id}"
    assert fake.count("POST", f"apps/{target.id}/workflows/draft/import") == 1
    assert target.graph["graph"] == {"nodes": [{"id": "start"}]}

    result = dify("app", "import", path, "--app-id", target.id, "--name", "X")
    one_error(result, 2, "--name cannot be combined with --app-id")


def test_old_server_refuses_bad_yaml(
    fake_dify: FakeDifyFactory, dify: DifyRunner, tmp_path: Path
) -> None:
    fake = fake_dify("legacy", version="0.11.2")
    connect(dify, fake)
    path = write(tmp_path, "version: 0.1.3\napp: [unclosed\n")
    result = dify("app", "import", path)
    one_error(
        result,
        1,
        "The server refused the import: Invalid YAML format in data argument.",
    )


# Bad input: refused before any request


@pytest.mark.parametrize(
    ("content", "text"),
    [
        (b"", "is empty."),
        (b"  \n\n", "is empty."),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "is not a text file, so not a Dify DSL."),
        (b"version: 0.1.0\x00\n", "is not a text file"),
        (b"hello: world\n", "does not look like a Dify app DSL"),
        (b"  app:\n    name: x\n", "does not look like a Dify app DSL"),
        (b"kind: rag_pipeline\nversion: 0.1.0\n", "is a Dify rag_pipeline DSL"),
    ],
)
def test_files_that_are_not_an_app_dsl(
    fake_dify: FakeDifyFactory,
    dify: DifyRunner,
    tmp_path: Path,
    content: bytes,
    text: str,
) -> None:
    fake = fake_dify("modern")
    connect(dify, fake)
    path = tmp_path / "bad.yml"
    path.write_bytes(content)
    one_error(dify("app", "import", str(path)), 2, text)
    assert fake.counts == {}


def test_a_json_dsl_is_accepted(
    fake_dify: FakeDifyFactory, dify: DifyRunner, tmp_path: Path
) -> None:
    fake = fake_dify("modern")
    connect(dify, fake)
    body = {"version": "0.6.0", "kind": "app", "app": {"name": "J", "mode": "chat"}}
    result = dify("app", "import", write(tmp_path, json.dumps(body)))
    assert result.exit_code == 0, result.output
    assert "Imported app 'J' (chat)" in result.stdout


def test_empty_stdin(
    fake_dify: FakeDifyFactory, dify_proc: DifyRunner, dify: DifyRunner
) -> None:
    fake = fake_dify("modern")
    connect(dify, fake)
    result = dify_proc("app", "import", "-", input="")
    one_error(result, 2, "Nothing on standard input.")
    assert fake.counts == {}


def test_unreadable_files(
    fake_dify: FakeDifyFactory, dify: DifyRunner, tmp_path: Path
) -> None:
    fake = fake_dify("modern")
    connect(dify, fake)
    missing = tmp_path / "nope.yml"
    one_error(dify("app", "import", str(missing)), 2, f"Cannot read {missing}")
    one_error(dify("app", "import", str(tmp_path)), 2, "is a folder, not a file")
    assert fake.counts == {}


@pytest.mark.parametrize(
    "first",
    [
        "kind: app # exported",
        "kind: 'app' # exported",
        'kind: "app"  # exported',
        '"kind": app',
    ],
)
def test_comments_and_quotes_on_the_top_keys_are_yaml(
    fake_dify: FakeDifyFactory, dify: DifyRunner, tmp_path: Path, first: str
) -> None:
    fake = fake_dify("modern")
    connect(dify, fake)
    body = dsl("Commented", version=DSL_OF["modern"]).replace("kind: app", first)
    assert first in body
    assert yaml.safe_load(body)["kind"] == "app"
    result = dify("app", "import", write(tmp_path, body))
    assert result.exit_code == 0, result.output
    assert "Imported app 'Commented'" in result.stdout


def test_a_commented_kind_of_another_dsl_is_still_refused(
    fake_dify: FakeDifyFactory, dify: DifyRunner, tmp_path: Path
) -> None:
    fake = fake_dify("modern")
    connect(dify, fake)
    path = write(tmp_path, "kind: rag_pipeline # exported\nversion: 0.1.0\n")
    one_error(dify("app", "import", path), 2, "is a Dify rag_pipeline DSL, not")
    assert fake.counts == {}


def test_an_empty_file_name(fake_dify: FakeDifyFactory, dify: DifyRunner) -> None:
    fake = fake_dify("modern")
    connect(dify, fake)
    one_error(dify("app", "import", ""), 2, "The file name is empty.")
    assert fake.counts == {}
