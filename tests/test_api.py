"""`dify api`: any console request with the profile's session."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from tests.test_app import connect, one_error

if TYPE_CHECKING:
    from pathlib import Path

    from tests.conftest import DifyRunner
    from tests.fake_dify.fixtures import FakeDifyFactory

EMAIL = "admin@example.com"
PASSWORD = "Passw0rd!Example"


@pytest.mark.parametrize("generation", ["legacy", "cookie", "modern"])
def test_get_prints_the_answer_as_received(
    fake_dify: FakeDifyFactory,
    dify: DifyRunner,
    dify_proc: DifyRunner,
    generation: str,
) -> None:
    fake = fake_dify(generation)
    connect(dify, fake)
    result = dify_proc("api", "workspaces")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    # Piped: the server's bytes, compact JSON and all.
    assert result.stdout.startswith('{"workspaces":[{')
    assert json.loads(result.stdout)["workspaces"][0]["current"] is True
    assert fake.counts == {"GET /console/api/workspaces": 1}


@pytest.mark.parametrize(
    "path",
    [
        "account/profile",
        "/account/profile",
        "/console/api/account/profile",
        "console/api/account/profile",
        "{url}/console/api/account/profile",
    ],
)
def test_the_prefix_may_be_left_out(
    fake_dify: FakeDifyFactory, dify: DifyRunner, path: str
) -> None:
    fake = fake_dify("modern")
    connect(dify, fake)
    result = dify("api", path.format(url=fake.url))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["email"] == EMAIL
    assert fake.count("GET", "account/profile") == 1


def test_get_fields_go_into_the_query(
    fake_dify: FakeDifyFactory, dify: DifyRunner
) -> None:
    fake = fake_dify("cookie")
    fake.apps.add("Flow", "workflow")
    fake.apps.add("Chat", "chat")
    connect(dify, fake)
    # As with gh, fields alone make a POST: -X GET keeps them in the query.
    args = ["apps?page=1", "-X", "GET", "-F", "limit=5", "-f", "mode=workflow"]
    result = dify("api", *args)
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert [app["name"] for app in body["data"]] == ["Flow"]
    assert body["limit"] == 5
    assert fake.requests[0].path == "/console/api/apps?page=1&mode=workflow&limit=5"
    assert fake.requests[0].body == ""


def test_post_fields_make_a_typed_json_body(
    fake_dify: FakeDifyFactory, dify: DifyRunner
) -> None:
    fake = fake_dify("modern")
    team = fake.add_workspace(fake.account, "Team B")
    connect(dify, fake)
    result = dify(
        "api", "workspaces/switch", "-f", f"tenant_id={team['id']}",
        "-F", "count=3", "-F", "ratio=0.5", "-F", "on=true", "-F", "off=false",
        "-F", "none=null", "-f", "text=true", "-F", "nested[key]=v",
        "-F", "list[]=1", "-F", "list[]=two",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["result"] == "success"
    assert fake.account.current_workspace_id == team["id"]
    (sent,) = fake.requests
    assert sent.method == "POST"
    assert sent.header("Content-Type") == "application/json"
    assert json.loads(sent.body) == {
        "tenant_id": team["id"],
        "count": 3,
        "ratio": 0.5,
        "on": True,
        "off": False,
        "none": None,
        "text": "true",
        "nested": {"key": "v"},
        "list": [1, "two"],
    }


def test_field_values_from_files_and_stdin(
    fake_dify: FakeDifyFactory, dify: DifyRunner, tmp_path: Path
) -> None:
    fake = fake_dify("modern")
    connect(dify, fake)
    note = tmp_path / "note.txt"
    note.write_text("from a file\n", encoding="utf-8")
    dify(
        "api", "-X", "PATCH", "account/profile",
        "-F", f"a=@{note}", "-F", "b=@-", "-f", "c=@literal",
        input="from stdin",
    )  # fmt: skip
    (sent,) = fake.requests
    assert sent.method == "PATCH"
    assert json.loads(sent.body) == {
        "a": "from a file\n",
        "b": "from stdin",
        "c": "@literal",
    }


def test_input_body_is_sent_as_is(
    fake_dify: FakeDifyFactory, dify: DifyRunner, tmp_path: Path
) -> None:
    fake = fake_dify("modern")
    team = fake.add_workspace(fake.account, "Team B")
    connect(dify, fake)
    body = tmp_path / "body.json"
    body.write_text(f'{{ "tenant_id" : "{team["id"]}" }}')
    result = dify(
        "api", "workspaces/switch", "--input", str(body), "-f", "extra=1",
        "-H", "X-Request-Note: promotion",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (sent,) = fake.requests
    assert sent.method == "POST"
    assert sent.body == body.read_text()
    # With a body given, fields go into the query string.
    assert sent.path == "/console/api/workspaces/switch?extra=1"
    assert sent.header("X-Request-Note") == "promotion"

    result = dify("api", "workspaces/switch", "--input", "-", input=sent.body)
    assert result.exit_code == 0, result.output


def test_include_shows_status_and_headers_first(
    fake_dify: FakeDifyFactory, dify_proc: DifyRunner, dify: DifyRunner
) -> None:
    fake = fake_dify("cookie")
    connect(dify, fake)
    result = dify_proc("api", "--include", "account/profile")
    assert result.exit_code == 0, result.output
    head, _, body = result.stdout.partition("\n\n")
    lines = head.splitlines()
    assert lines[0] == "HTTP/1.1 200 OK"
    assert "X-Version: 1.11.1" in lines
    assert "Content-Type: application/json" in lines
    assert json.loads(body)["email"] == EMAIL


def test_an_error_answer_is_printed_and_exits_1(
    fake_dify: FakeDifyFactory, dify_proc: DifyRunner, dify: DifyRunner
) -> None:
    fake = fake_dify("modern")
    connect(dify, fake)
    missing = "00000000-0000-4000-8000-000000000000"
    result = dify_proc("api", f"apps/{missing}")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["code"] == "app_not_found"
    assert result.stderr == (
        f"Error: GET /console/api/apps/{missing}: HTTP 404 Not Found: App not found.\n"
    )


def test_forbidden_exits_4(fake_dify: FakeDifyFactory, dify: DifyRunner) -> None:
    fake = fake_dify("modern")
    app = fake.apps.add("Mine", "chat")
    workspace = fake.account.current_workspace
    assert workspace is not None
    workspace["role"] = "normal"
    connect(dify, fake)
    result = dify("api", f"apps/{app.id}/export")
    one_error(result, 4, "HTTP 403 Forbidden: You don't have the permission")


def test_a_refused_session_exits_4(
    fake_dify: FakeDifyFactory, dify: DifyRunner
) -> None:
    fake = fake_dify("legacy")
    connect(dify, fake)
    fake.account.banned = True
    result = dify("api", "workspaces")
    one_error(result, 4, "HTTP 401 Unauthorized: Account is banned.")
    assert "Run `dify --profile default connect`." in result.stderr


@pytest.mark.parametrize("generation", ["legacy", "modern"])
def test_an_expired_session_is_renewed(
    fake_dify: FakeDifyFactory, dify: DifyRunner, generation: str
) -> None:
    fake = fake_dify(generation, access_ttl=2)
    connect(dify, fake)
    fake.expire_access_tokens()
    result = dify("api", "workspaces")
    assert result.exit_code == 0, result.output
    assert fake.count("POST", "refresh-token") == 1


def test_uses_the_profile_tls_settings(
    fake_dify: FakeDifyFactory, dify: DifyRunner
) -> None:
    fake = fake_dify("modern", https=True)
    result = dify(
        "connect", "--server", fake.url, "--email", EMAIL, "--ca-bundle",
        str(fake.ca_bundle), "--password-stdin", input=PASSWORD + "\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    result = dify("api", "account/profile")
    assert result.exit_code == 0, result.output
    assert dify("profile", "unset", "default", "ca_bundle").exit_code == 0
    result = dify("api", "account/profile")
    assert result.exit_code == 5
    assert "Cannot connect securely" in result.stderr


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (["/v1/chat-messages"], "is not in the console API"),
        (["/api/meta"], "is not in the console API"),
        (["/console/apps"], "is not in the console API"),
        (["https://evil.example/console/api/apps"], "is not on the profile's server"),
        (["//evil.example/console/api/apps"], "is not on the profile's server"),
        (["../secrets"], "`.` and `..` are not allowed"),
        (["apps/%2e%2e/%2e%2e/v1"], "`.` and `..` are not allowed"),
        (["/console/api/"], "names no endpoint"),
        (["apps", "-f", "novalue"], "Field 'novalue' is not KEY=VALUE."),
        (["apps", "-F", "a[b=1"], "Field name 'a[b' is malformed"),
        (["apps", "-X", "POST", "-F", "a[][b]=1"], "arrays of objects"),
        (["apps", "-X", "POST", "-F", "a=1", "-F", "a[b]=2"], "conflicts"),
        (["apps", "-H", "NoColon"], "Header 'NoColon' is not 'Name: value'."),
        (["apps", "-X", "G E T"], "is not an HTTP method"),
        (["apps", "-X", "GET", "--input", "-"], "GET requests do not take"),
        (["apps", "-F", "a=@/no/such/file"], "Cannot read /no/such/file"),
        (["apps", "-F", "a=@-", "--input", "-"], "Standard input can feed only one"),
        (["apps", "--input", "-"], "standard input is empty"),
        (["apps", "-H", "X-Note: a\nX-Injected: 1"], "-H X-Note: the value cannot"),
        (["apps", "-H", "X-Note: \u2603"], "characters an HTTP header cannot carry"),
        (["apps", "-F", "n=1e999"], "beyond the range of a JSON number"),
        (["apps", "-F", "n=" + "9" * 5000], "more than 4300 digits"),
    ],
)
def test_bad_input_sends_nothing(
    fake_dify: FakeDifyFactory, dify: DifyRunner, args: list[str], text: str
) -> None:
    fake = fake_dify("modern")
    connect(dify, fake)
    result = dify("api", *args, input="")
    one_error(result, 2, text)
    assert fake.counts == {}


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ('{"a": NaN}', "NaN is not a JSON value"),
        ('{"a": -Infinity}', "-Infinity is not a JSON value"),
        ('{"a": ' + "1" * 5000 + "}", "more than 4300 digits"),
    ],
)
def test_a_body_python_reads_but_json_does_not_have(
    fake_dify: FakeDifyFactory, dify: DifyRunner, body: str, text: str
) -> None:
    fake = fake_dify("modern")
    connect(dify, fake)
    result = dify("api", "workspaces/switch", "--input", "-", input=body)
    one_error(result, 2, text)
    assert fake.counts == {}


def test_a_body_that_is_not_json(
    fake_dify: FakeDifyFactory, dify: DifyRunner, tmp_path: Path
) -> None:
    fake = fake_dify("modern")
    connect(dify, fake)
    body = tmp_path / "body.json"
    body.write_text('{"tenant_id": "x",\n  oops}')
    result = dify("api", "workspaces/switch", "--input", str(body))
    one_error(result, 2, f"{body} is not valid JSON: Expecting property name")
    assert "(line 2, column 3)" in result.stderr
    result = dify("api", "workspaces/switch", "--input", str(tmp_path / "none"))
    one_error(result, 2, "Cannot read")
    assert fake.counts == {}


def test_not_connected(fake_dify: FakeDifyFactory, dify: DifyRunner) -> None:
    fake = fake_dify("modern")
    result = dify("api", "apps", extra_env={"DIFY_URL": fake.url})
    one_error(result, 4, "is not connected")
    assert fake.counts == {}


def test_pretty_at_a_terminal(
    fake_dify: FakeDifyFactory, dify: DifyRunner, env: dict[str, str]
) -> None:
    pytest.importorskip("pty")
    pytest.importorskip("termios")
    from tests.test_connect_prompt import Terminal

    fake = fake_dify("modern")
    connect(dify, fake)
    term = Terminal(["api", "account/profile"], env)
    term.expect('  "email": "admin@example.com"')
    assert term.finish() == 0


@pytest.mark.parametrize("where", ["before", "after"])
def test_json_is_accepted_and_changes_nothing(
    fake_dify: FakeDifyFactory, dify: DifyRunner, where: str
) -> None:
    fake = fake_dify("modern")
    connect(dify, fake)
    plain = dify("api", "account/profile")
    args = ["--json", "api", "account/profile"]
    if where == "after":
        args = ["api", "account/profile", "--json"]
    result = dify(*args)
    assert result.exit_code == 0, result.output
    assert result.stdout == plain.stdout


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (["apps", "-F", "x=@"], "The field x names no file after '@'."),
        (["apps", "--input", ""], "The file name is empty."),
        (["apps/..%2f..%2fv1"], "an encoded / (%2F) is not allowed in PATH"),
        (["apps/..%2F..%2Fv1"], "an encoded / (%2F) is not allowed in PATH"),
    ],
)
def test_more_bad_input_sends_nothing(
    fake_dify: FakeDifyFactory, dify: DifyRunner, args: list[str], text: str
) -> None:
    fake = fake_dify("modern")
    connect(dify, fake)
    result = dify("api", "-X", "POST", *args, input="")
    one_error(result, 2, text)
    assert "  " not in result.stderr
    assert fake.counts == {}
