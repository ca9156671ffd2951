"""Debug logs: headers and secrets are masked however a log line spells them."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from dify_cli import logs
from tests.test_app import connect

if TYPE_CHECKING:
    from tests.conftest import DifyRunner
    from tests.fake_dify.fixtures import FakeDifyFactory

SECRET_HEADERS = {
    "Authorization": "Bearer sk-abcdefabcdef",
    "Proxy-Authorization": "Basic dXNlcjpwYXNz",
    "X-Api-Key": "hunter2hunter2",
    "x-my-session-id": "sess1on-valu3",
    "X-Upstream-Secret": "upstream-s3cr3t",
    "X-Custom-Token": "t0ken-value",
}


def test_headers_given_to_dify_api_are_masked_in_the_debug_log(
    fake_dify: FakeDifyFactory, dify: DifyRunner
) -> None:
    fake = fake_dify("modern")
    connect(dify, fake)
    headers = [f"{name}: {value}" for name, value in SECRET_HEADERS.items()]
    args = [arg for header in headers for arg in ("-H", header)]

    result = dify("--debug", "api", "apps", *args, "-H", "X-Note: plain-note")

    assert result.exit_code == 0, result.output
    assert "sent headers" in result.stderr
    for value in SECRET_HEADERS.values():
        assert value not in result.output
    assert "'X-Api-Key': '***'" in result.stderr
    assert "plain-note" in result.stderr
    (sent,) = fake.requests
    assert sent.header("X-Api-Key") == "hunter2hunter2"


@pytest.mark.parametrize("name", [*SECRET_HEADERS, "COOKIE", "set-cookie"])
def test_secret_header_names_are_recognised_in_any_case(name: str) -> None:
    assert logs.is_secret_header(name)
    assert logs.is_secret_header(name.upper())
    assert logs.shown_headers({name: "value", "Accept": "x"}) == {
        name: "***",
        "Accept": "x",
    }


@pytest.mark.parametrize("name", ["Accept", "Content-Type", "X-Note", "User-Agent"])
def test_other_headers_are_shown(name: str) -> None:
    assert not logs.is_secret_header(name)


def test_redact_masks_a_dict_of_headers_and_header_lines() -> None:
    as_dict = str({**SECRET_HEADERS, "Accept": "application/json"})
    as_lines = "\n".join(f"{name}: {value}" for name, value in SECRET_HEADERS.items())
    quoted = str({"X-Api-Key": 'it\'s "quoted" hunter2'})

    for text in (as_dict, as_lines, quoted):
        shown = logs.redact(text)
        for value in [*SECRET_HEADERS.values(), "hunter2"]:
            assert value not in shown
    assert "'Accept': 'application/json'" in logs.redact(as_dict)


@pytest.mark.parametrize(
    "text",
    [
        "unexpected KeyError: 'name'. This is a bug in dify",
        "GET https://auth-proxy:8443/console/api/apps -> 200",
        "SessionRejected: the server refused the session",
    ],
)
def test_prose_that_names_a_secret_part_keeps_its_words(text: str) -> None:
    assert logs.redact(text) == text
