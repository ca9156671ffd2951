"""The fake server's app endpoints, over real HTTP, per release range."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
import yaml

from tests.fake_dify.apps import compatibility, dsl_version
from tests.fake_dify.client import call, login

if TYPE_CHECKING:
    from tests.fake_dify import FakeDify
    from tests.fake_dify.client import Session
    from tests.fake_dify.fixtures import FakeDifyFactory

MISSING = "00000000-0000-4000-8000-000000000000"


def import_yaml(session: Session, content: str, **extra: str) -> tuple[int, dict]:
    body = {"mode": "yaml-content", "yaml_content": content, **extra}
    response = session.post("/apps/imports", body)
    return response.status_code, response.json()


def dsl(version: str, name: str = "Imported", mode: str = "workflow") -> str:
    return yaml.safe_dump(
        {"version": version, "kind": "app", "app": {"name": name, "mode": mode}}
    )


@pytest.mark.parametrize(
    ("server", "dsl"),
    [
        ("0.8.0", "0.1.2"),
        ("0.11.2", "0.1.3"),
        ("0.14.2", "0.1.5"),
        ("1.2.0", "0.1.5"),
        ("1.3.1", "0.2.0"),
        ("1.9.1", "0.4.0"),
        ("1.11.1", "0.5.0"),
        ("1.16.0-rc1", "0.6.0"),
    ],
)
def test_dsl_version_per_release(server: str, dsl: str) -> None:
    assert dsl_version(server) == dsl


@pytest.mark.parametrize(
    ("server", "imported", "status"),
    [
        ("1.11.1", "0.5.0", "completed"),
        ("1.11.1", "0.5.3", "pending"),
        ("1.11.1", "0.6.0", "pending"),
        ("1.11.1", "0.4.9", "completed-with-warnings"),
        ("1.11.1", "1.0.0", "pending"),
        ("1.11.1", "abc", "failed"),
        ("1.2.0", "0.1.5", "completed"),
        ("1.2.0", "0.1.9", "completed-with-warnings"),
        ("1.2.0", "0.1.1", "completed-with-warnings"),
        ("1.2.0", "0.0.9", "pending"),
        ("1.2.0", "0.2.0", "pending"),
    ],
)
def test_version_rules(server: str, imported: str, status: str) -> None:
    assert compatibility(server, imported) == status


# The list


def test_list_pages_newest_first(fake_dify: FakeDifyFactory) -> None:
    fake = fake_dify("modern")
    apps = [fake.apps.add(f"App {n}") for n in range(5)]
    session = login(fake)
    first = session.get("/apps?page=1&limit=2").json()
    assert (first["page"], first["limit"], first["total"]) == (1, 2, 5)
    assert first["has_more"] is True
    assert [a["id"] for a in first["data"]] == [apps[4].id, apps[3].id]
    last = session.get("/apps?page=3&limit=2").json()
    assert last["has_more"] is False
    assert [a["id"] for a in last["data"]] == [apps[0].id]
    assert session.get("/apps").json()["limit"] == 20


@pytest.mark.parametrize(
    ("generation", "shape"), [("legacy", "errors"), ("modern", "code")]
)
def test_list_limit_above_100(
    fake_dify: FakeDifyFactory, generation: str, shape: str
) -> None:
    fake = fake_dify(generation)
    response = login(fake).get("/apps?limit=101")
    assert response.status_code == 400
    assert shape in response.json()


def test_list_fields_by_release(fake_dify: FakeDifyFactory) -> None:
    old = fake_dify("legacy", version="1.4.0")
    old.apps.add("A")
    item = login(old).get("/apps").json()["data"][0]
    assert "access_mode" not in item
    assert "has_draft_trigger" not in item
    assert item["workflow"] is not None
    assert item["model_config"] is None

    new = fake_dify("modern")
    new.apps.add("B", "chat")
    item = login(new).get("/apps").json()["data"][0]
    assert item["access_mode"] == "public"
    assert item["has_draft_trigger"] is False
    assert item["model_config"]["model"]["name"] == "gpt-4o"


def test_list_mode_filters_by_release(fake_dify: FakeDifyFactory) -> None:
    def names(fake: FakeDify, mode: str) -> list[str] | int:
        response = login(fake).get(f"/apps?mode={mode}")
        if response.status_code != 200:
            return response.status_code
        return sorted(a["name"] for a in response.json()["data"])

    modes = ("workflow", "completion", "chat", "advanced-chat", "channel")
    servers = [
        fake_dify(version="1.1.2"),
        fake_dify(version="1.1.3"),
        fake_dify(version="1.6.0"),
        fake_dify(version="1.7.0"),
        fake_dify(version="1.9.1"),
    ]
    for fake in servers:
        for mode in modes:
            fake.apps.add(mode, mode)
    old, newer, last_channel, no_channel, later = servers
    assert names(old, "workflow") == ["completion", "workflow"]
    assert names(old, "chat") == ["advanced-chat", "chat"]
    assert names(old, "completion") == 400
    assert names(newer, "workflow") == ["workflow"]
    assert names(newer, "completion") == ["completion"]
    assert names(newer, "channel") == ["channel"]
    assert names(last_channel, "channel") == ["channel"]
    # From 1.7.0 the channel filter is gone: every app comes back.
    assert names(no_channel, "channel") == sorted(modes)
    assert names(later, "channel") == sorted(modes)
    assert names(later, "workflow") == ["workflow"]


def test_list_name_filter(fake_dify: FakeDifyFactory) -> None:
    fake = fake_dify("cookie")
    long_name = "A" * 30 + " tail"
    fake.apps.add("Support Bot")
    fake.apps.add(long_name)
    session = login(fake)
    found = session.get("/apps?name=support").json()["data"]
    assert [a["name"] for a in found] == ["Support Bot"]
    # Only the first 30 characters are compared.
    found = session.get("/apps?name=" + "A" * 30 + "zzz").json()["data"]
    assert [a["name"] for a in found] == [long_name]


def test_list_only_the_current_workspace(fake_dify: FakeDifyFactory) -> None:
    fake = fake_dify("modern")
    team = fake.add_workspace(fake.account, "Team")
    fake.apps.add("Mine")
    fake.apps.add("Theirs", workspace=team)
    session = login(fake)
    assert [a["name"] for a in session.get("/apps").json()["data"]] == ["Mine"]
    session.post("/workspaces/switch", {"tenant_id": team["id"]})
    assert [a["name"] for a in session.get("/apps").json()["data"]] == ["Theirs"]


# Detail and export


def test_detail_and_its_errors(fake_dify: FakeDifyFactory) -> None:
    fake = fake_dify("modern")
    app = fake.apps.add("A", "chat")
    session = login(fake)
    detail = session.get(f"/apps/{app.id}").json()
    assert (detail["id"], detail["name"], detail["mode"]) == (app.id, "A", "chat")
    assert "site" in detail
    missing = session.get(f"/apps/{MISSING}")
    assert missing.status_code == 404
    assert missing.json()["code"] == "app_not_found"
    # Not a UUID: Flask's converter does not match, a plain 404.
    assert session.get("/apps/not-a-uuid").json()["code"] == "not_found"
    assert call(fake, "GET", f"/apps/{app.id}").status_code == 401


def test_export_by_release(fake_dify: FakeDifyFactory) -> None:
    old = fake_dify("legacy", version="0.15.3")
    app = old.apps.add("Flow")
    data = yaml.safe_load(login(old).get(f"/apps/{app.id}/export").json()["data"])
    assert data["version"] == "0.1.5"
    assert data["kind"] == "app"
    assert data["app"]["name"] == "Flow"
    assert "workflow" in data
    assert "dependencies" not in data

    new = fake_dify("modern")
    chat = new.apps.add("Chat", "chat")
    text = login(new).get(f"/apps/{chat.id}/export").json()["data"]
    data = yaml.safe_load(text)
    assert data["version"] == "0.6.0"
    assert data["dependencies"] == []
    assert "model_config" in data
    # Keys are written sorted, as PyYAML's dump does by default.
    assert text.startswith("app:")


def test_export_secrets(fake_dify: FakeDifyFactory) -> None:
    fake = fake_dify("modern")
    secret = {"name": "KEY", "value": "s3cret", "value_type": "secret"}
    plain = {"name": "URL", "value": "https://x", "value_type": "string"}
    app = fake.apps.add("Env", graph={"environment_variables": [secret, plain]})
    session = login(fake)

    def variables(query: str) -> list[str]:
        text = session.get(f"/apps/{app.id}/export{query}").json()["data"]
        return [
            v["value"]
            for v in yaml.safe_load(text)["workflow"]["environment_variables"]
        ]

    assert variables("") == ["", "https://x"]
    assert variables("?include_secret=true") == ["s3cret", "https://x"]


def test_export_errors(fake_dify: FakeDifyFactory) -> None:
    fake = fake_dify("modern")
    app = fake.apps.add("A")
    session = login(fake)
    response = session.get(f"/apps/{app.id}/export?workflow_id=x")
    assert (response.status_code, response.json()["code"]) == (400, "invalid_param")
    workspace = fake.account.current_workspace
    assert workspace is not None
    workspace["role"] = "normal"
    assert session.get(f"/apps/{app.id}/export").status_code == 403
    # The app lookup comes first: an unknown app is 404 even for a non-editor.
    assert session.get(f"/apps/{MISSING}/export").status_code == 404


# Imports from 0.12.0


def test_import_completed(fake_dify: FakeDifyFactory) -> None:
    fake = fake_dify("cookie")
    session = login(fake)
    status, body = import_yaml(session, dsl("0.5.0", "New"), name="Renamed")
    assert status == 200
    assert body["status"] == "completed"
    assert body["app_mode"] == "workflow"
    assert (body["current_dsl_version"], body["imported_dsl_version"]) == (
        "0.5.0",
        "0.5.0",
    )
    assert body["error"] == ""
    assert fake.apps.apps[body["app_id"]].name == "Renamed"


def test_import_pending_then_confirmed(fake_dify: FakeDifyFactory) -> None:
    fake = fake_dify("cookie")
    session = login(fake)
    status, body = import_yaml(session, dsl("0.6.0"))
    assert status == 202
    assert body["status"] == "pending"
    assert body["app_id"] is None
    assert body["app_mode"] is None
    assert fake.apps.apps == {}
    confirmed = session.post(f"/apps/imports/{body['id']}/confirm")
    assert confirmed.status_code == 200
    assert confirmed.json()["status"] == "completed"
    assert confirmed.json()["app_id"] in fake.apps.apps
    again = session.post(f"/apps/imports/{body['id']}/confirm")
    assert again.status_code == 400
    assert again.json()["error"] == "Import information expired or does not exist"


def test_a_pending_import_expires(fake_dify: FakeDifyFactory) -> None:
    fake = fake_dify("legacy", version="0.15.0")
    assert fake.apps.ttl == 180
    assert fake_dify("modern").apps.ttl == 600
    fake.apps.import_ttl = 0
    session = login(fake)
    _, body = import_yaml(session, dsl("0.2.0"))
    assert body["status"] == "pending"
    assert "app_mode" not in body
    late = session.post(f"/apps/imports/{body['id']}/confirm")
    assert late.status_code == 400
    assert fake.apps.apps == {}


@pytest.mark.parametrize(
    ("content", "error"),
    [
        ("", "yaml_content is required when import_mode is yaml-content"),
        ("[1, 2]", "Invalid YAML format: content must be a mapping"),
        ("app: [unclosed", "Invalid YAML format: "),
        ("version: 0.5.0\nkind: app\n", "Missing app data in YAML content"),
        ("version: 0.5.0\napp:\n  name: x\n", "loss app mode"),
        ("version: 0.5\napp:\n  mode: chat\n", "Invalid version type"),
    ],
)
def test_import_failures(fake_dify: FakeDifyFactory, content: str, error: str) -> None:
    fake = fake_dify("cookie")
    status, body = import_yaml(login(fake), content)
    assert status == 400
    assert body["status"] == "failed"
    assert body["error"].startswith(error)
    assert fake.apps.apps == {}


def test_import_into_an_app(fake_dify: FakeDifyFactory) -> None:
    fake = fake_dify("modern")
    flow = fake.apps.add("Flow")
    chat = fake.apps.add("Chat", "chat")
    session = login(fake)
    status, body = import_yaml(session, dsl("0.6.0", "Flow 2"), app_id=flow.id)
    assert (status, body["app_id"]) == (200, flow.id)
    assert flow.name == "Flow 2"
    _, body = import_yaml(session, dsl("0.6.0"), app_id=chat.id)
    assert body["error"] == "Only workflow or advanced chat apps can be overwritten"
    _, body = import_yaml(session, dsl("0.6.0"), app_id=MISSING)
    assert body["error"] == "App not found"
    # Checked before the version: a bad target fails even when pending.
    _, body = import_yaml(session, dsl("0.9.0"), app_id=MISSING)
    assert body["status"] == "failed"


def test_import_request_errors(fake_dify: FakeDifyFactory) -> None:
    fake = fake_dify("modern")
    session = login(fake)
    response = session.post("/apps/imports", {"mode": "zip"})
    assert response.status_code == 400
    assert response.json()["message"] == "Invalid import_mode: zip"
    assert session.post("/apps/imports", {}).status_code == 400
    response = session.post("/apps/imports", {"mode": "yaml-url", "yaml_url": "x"})
    assert response.json()["error"].startswith("Error fetching YAML from URL")
    workspace = fake.account.current_workspace
    assert workspace is not None
    workspace["role"] = "editor"
    assert import_yaml(session, dsl("0.6.0"))[0] == 200
    workspace["role"] = "dataset_operator"
    assert import_yaml(session, dsl("0.6.0"))[0] == 403


# The old API, before 0.12.0


def test_routes_by_release(fake_dify: FakeDifyFactory) -> None:
    old = login(fake_dify("legacy", version="0.11.2"))
    new = login(fake_dify("legacy", version="0.12.0"))
    assert old.post("/apps/imports", {"mode": "yaml-content"}).status_code == 404
    assert new.post("/apps/import", {"data": "x"}).status_code == 404
    assert old.post("/apps/import", {}).status_code == 400
    assert new.post("/apps/imports", {}).status_code == 400


def test_old_import(fake_dify: FakeDifyFactory) -> None:
    fake = fake_dify("legacy", version="0.11.2")
    session = login(fake)
    # A newer DSL is not refused: the old service only logged the difference.
    response = session.post("/apps/import", {"data": dsl("0.6.0", "Old", "chat")})
    assert response.status_code == 201
    body = response.json()
    assert (body["name"], body["mode"]) == ("Old", "chat")
    assert body["id"] in fake.apps.apps
    bad = session.post("/apps/import", {"data": "app: [x"})
    assert bad.status_code == 400
    assert bad.json()["message"] == "Invalid YAML format in data argument."
    bad = session.post("/apps/import", {"data": "version: 0.1.3\n"})
    assert bad.json()["message"] == "Missing app in data argument"


def test_old_draft_import(fake_dify: FakeDifyFactory) -> None:
    fake = fake_dify("legacy", version="0.11.2")
    flow = fake.apps.add("Flow")
    chat = fake.apps.add("Chat", "chat")
    session = login(fake)
    text = yaml.safe_dump(
        {"app": {"mode": "workflow"}, "workflow": {"graph": {"n": 1}}}
    )
    response = session.post(f"/apps/{flow.id}/workflows/draft/import", {"data": text})
    assert response.status_code == 200
    assert flow.graph == {"graph": {"n": 1}}
    response = session.post(f"/apps/{chat.id}/workflows/draft/import", {"data": text})
    assert response.status_code == 404
    assert response.json()["code"] == "app_not_found"


QUOTA = "The number of apps has reached the limit of your subscription."


@pytest.mark.parametrize(
    ("version", "route", "body"),
    [
        ("0.11.2", "/apps/import", {"data": dsl("0.1.3")}),
        (
            "1.2.0",
            "/apps/imports",
            {"mode": "yaml-content", "yaml_content": dsl("0.1.5")},
        ),
    ],
)
def test_a_full_app_quota_refuses_the_import_before_the_role(
    fake_dify: FakeDifyFactory, version: str, route: str, body: dict[str, str]
) -> None:
    fake = fake_dify(version=version, cloud=True)
    fake.apps.quota = 1
    fake.apps.add("Existing")
    session = login(fake)
    workspace = fake.account.current_workspace
    assert workspace is not None

    workspace["role"] = "normal"
    refused = session.post(route, body)
    assert refused.json() == {"code": "forbidden", "message": QUOTA, "status": 403}
    workspace["role"] = "owner"
    assert session.post(route, body).json()["message"] == QUOTA

    fake.apps.quota = 0  # as in Dify: no limit
    assert session.post(route, body).status_code in (200, 201)


def test_from_0_12_to_1_1_imports_ignore_the_quota(fake_dify: FakeDifyFactory) -> None:
    fake = fake_dify(version="1.1.3", cloud=True)
    fake.apps.quota = 1
    fake.apps.add("Existing")
    status, answer = import_yaml(login(fake), dsl("0.1.5"))
    assert (status, answer["status"]) == (200, "completed")
    assert len(fake.apps.apps) == 2
