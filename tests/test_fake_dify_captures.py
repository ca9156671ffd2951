"""Replay every recorded exchange with a real Dify server against the fake.

Each capture is replayed in order against a fake of the same generation and
version, carrying state forward: wherever a recorded request used a token,
cookie, email-code token or code that the real server had issued, the replay
sends the value the fake issued at the same point instead. The fake must then
answer with the same status, the same JSON body (keys, and values apart from
tokens, ids and timestamps), the same Set-Cookie names and attributes, and the
same values for every other header Dify sets (X-Version, Content-Type, Vary,
WWW-Authenticate, CORS...), leaving out those that change on every run.

No exchange is skipped. One is replayed with time compressed, see
`test_email_code_capture`.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import re
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest

from tests.fake_dify import FakeDify

CAPTURES = Path(
    os.environ.get("DIFY_CAPTURES_DIR")
    or Path(__file__).resolve().parents[2] / "shared" / "captures"
)

# Values that differ on every run: compared by presence, not by value.
VOLATILE_KEYS = {
    "id",
    "access_token",
    "refresh_token",
    "created_at",
    "last_login_at",
    "last_opened_at",
    "setup_at",
}
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
WRONG_CODE = "000000"  # the one deliberately wrong code in the captures
SKIPPED_REQUEST_HEADERS = {"host", "content-length"}

# Response headers not compared by value, and why.
UNCOMPARED_HEADERS = {
    "date",  # the clock at recording time
    "content-length",  # tokens, ids and timestamps make bodies differ in length
    "server",  # the WSGI server in front of Dify: gunicorn on two recordings
    "connection",  # hop by hop, up to the HTTP server and the client
    "set-cookie",  # values are tokens: names and attributes compared on their own
}


def load(name: str) -> dict[str, Any]:
    path = CAPTURES / name
    if not path.exists():
        message = f"the recorded exchanges are not beside the repository: {path}"
        # CI always has them beside the clone: there a missing file is a failure.
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    data: dict[str, Any] = json.loads(path.read_text())
    return data


@dataclass
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: str

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def cookies(self) -> list[str]:
        return [v for k, v in self.headers if k.lower() == "set-cookie"]


def cookie_pairs(headers: list[list[str]] | list[tuple[str, str]]) -> dict[str, str]:
    pairs = {}
    for key, value in headers:
        if key.lower() == "set-cookie":
            name, _, rest = value.partition("=")
            pairs[name] = rest.partition(";")[0]
    return pairs


@dataclass
class Replay:
    """Sends recorded requests to a fake, translating recorded secrets."""

    server: FakeDify
    substitutions: dict[str, str] = field(default_factory=dict)

    def translate(self, text: str) -> str:
        for recorded, issued in self.substitutions.items():
            text = text.replace(recorded, issued)
        return text

    def send(self, request: dict[str, Any]) -> Answer:
        headers = {
            name: self.translate(value)
            for name, value in request["headers"]
            if name.lower() not in SKIPPED_REQUEST_HEADERS
        }
        body = self.translate(request["body"] or "")
        body = self.with_fake_code(body)
        connection = http.client.HTTPConnection("127.0.0.1", self.server.port)
        try:
            connection.request(
                request["method"],
                self.translate(request["path"]),
                body=body.encode() if body else None,
                headers=headers,
            )
            response = connection.getresponse()
            text = response.read().decode()
            return Answer(response.status, response.getheaders(), text)
        finally:
            connection.close()

    def with_fake_code(self, body: str) -> str:
        """Put the code the fake mailed for this token where the recorded code
        was, encoded as the recorded one was; a deliberately wrong code stays."""
        if '"code"' not in body:
            return body
        data = json.loads(body)
        recorded = data["code"]
        plain = recorded.isdigit()
        if (recorded if plain else base64.b64decode(recorded).decode()) == WRONG_CODE:
            return body
        mail = next((m for m in self.server.mailbox if m.token == data["token"]), None)
        if mail is None:
            return body
        data["code"] = (
            mail.code if plain else base64.b64encode(mail.code.encode()).decode()
        )
        return json.dumps(data)

    def learn(self, recorded: dict[str, Any], answer: Answer) -> None:
        """Remember which fake value stands for each secret the real server gave."""
        issued = cookie_pairs(answer.headers)
        for name, value in cookie_pairs(recorded["headers"]).items():
            if value and issued.get(name):
                self.substitutions[value] = issued[name]
        if not recorded["body"] or not answer.body:
            return
        recorded_body = json.loads(recorded["body"])
        answered_body = json.loads(answer.body)
        if not isinstance(recorded_body, dict) or not isinstance(answered_body, dict):
            return
        data = recorded_body.get("data")
        if isinstance(data, dict):
            for key in ("access_token", "refresh_token"):
                if key in data:
                    self.substitutions[data[key]] = answered_body["data"][key]
        elif isinstance(data, str) and UUID.match(data):
            self.substitutions[data] = answered_body["data"]


def assert_same_shape(recorded: Any, actual: Any, where: str = "body") -> None:
    if isinstance(recorded, dict):
        assert isinstance(actual, dict), f"{where}: {actual!r} is not an object"
        assert set(actual) == set(recorded), f"{where}: keys differ"
        for key, value in recorded.items():
            inner = f"{where}.{key}"
            if key in VOLATILE_KEYS:
                assert (actual[key] is None) == (value is None), inner
            elif key == "data" and isinstance(value, str) and UUID.match(value):
                assert UUID.match(actual[key]), inner
            else:
                assert_same_shape(value, actual[key], inner)
    elif isinstance(recorded, list):
        assert isinstance(actual, list), f"{where}: {actual!r} is not a list"
        assert len(actual) == len(recorded), f"{where}: lengths differ"
        for index, (one, other) in enumerate(zip(recorded, actual, strict=True)):
            assert_same_shape(one, other, f"{where}[{index}]")
    else:
        assert actual == recorded, f"{where}: {actual!r} != {recorded!r}"


def cookie_attributes(header: str) -> tuple[str, list[tuple[str, str]]]:
    first, *attributes = [part.strip() for part in header.split(";")]
    pairs = [tuple(a.partition("=")[::2]) for a in attributes]
    return first.partition("=")[0], [(k, v) for k, v in pairs]


def assert_same_cookies(recorded: list[str], actual: list[str], where: str) -> None:
    expected = [cookie_attributes(c) for c in recorded]
    got = [cookie_attributes(c) for c in actual]
    assert [n for n, _ in got] == [n for n, _ in expected], f"{where}: cookie names"
    for (name, want), (_, have) in zip(expected, got, strict=True):
        assert [k for k, _ in have] == [k for k, _ in want], f"{where}: {name}"
        for (key, wanted), (_, value) in zip(want, have, strict=True):
            if key == "Expires" and wanted != "Thu, 01 Jan 1970 00:00:00 GMT":
                parsedate_to_datetime(value)  # a real HTTP date, in the future
                assert parsedate_to_datetime(value).timestamp() > time.time()
            else:
                assert value == wanted, f"{where}: {name} {key}"


def compared_headers(
    headers: list[list[str]] | list[tuple[str, str]],
) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, value in headers:
        if name.lower() not in UNCOMPARED_HEADERS:
            found.setdefault(name.lower(), []).append(value)
    return found


def assert_same_headers(
    exchange: dict[str, Any], answer: Answer, server: FakeDify, where: str
) -> None:
    """The headers Dify sets, by value; the recorded server's own origin (the
    console origin CORS allows was set to it) stands for the fake's."""
    host = {k.lower(): v for k, v in exchange["request"]["headers"]}["host"]
    recorded = {
        name: [value.replace(f"http://{host}", server.url) for value in values]
        for name, values in compared_headers(exchange["response"]["headers"]).items()
    }
    actual = compared_headers(answer.headers)
    for name in sorted(set(recorded) | set(actual)):
        assert actual.get(name) == recorded.get(name), f"{where}: {name}"


def assert_answers_like(
    exchange: dict[str, Any], answer: Answer, server: FakeDify, where: str
) -> None:
    recorded = exchange["response"]
    assert answer.status == recorded["status"], f"{where}: {answer.body}"
    assert_same_headers(exchange, answer, server, where)
    recorded_cookies = [v for k, v in recorded["headers"] if k == "Set-Cookie"]
    assert_same_cookies(recorded_cookies, answer.cookies(), where)
    if recorded["body"]:
        assert_same_shape(json.loads(recorded["body"]), json.loads(answer.body), where)


def replay(server: FakeDify, capture: dict[str, Any], pause: float = 0.0) -> int:
    """Replay a capture in order; returns how many exchanges were checked.

    pause: when the recorded clock jumps by a minute or more between two
    exchanges, sleep this long instead (the fake's windows are shortened to
    match).
    """
    session = Replay(server)
    previous: float | None = None
    for index, exchange in enumerate(capture["exchanges"]):
        recorded_at = recorded_time(exchange)
        if pause and previous is not None and recorded_at - previous >= 60:
            time.sleep(pause)
        previous = recorded_at

        answer = session.send(exchange["request"])
        where = f"#{index} {exchange['title']}"
        assert_answers_like(exchange, answer, server, where)
        session.learn(exchange["response"], answer)
    return len(capture["exchanges"])


def recorded_time(exchange: dict[str, Any]) -> float:
    for key, value in exchange["response"]["headers"]:
        if key == "Date":
            return parsedate_to_datetime(value).timestamp()
    raise AssertionError(f"no Date in {exchange['title']}")


@pytest.mark.parametrize(
    ("name", "generation"),
    [
        ("dify-1.9.1.json", "legacy"),
        ("dify-1.11.1.json", "cookie"),
        ("dify-1.16.0-rc1.json", "modern"),
    ],
)
def test_password_capture(name: str, generation: str) -> None:
    capture = load(name)
    assert capture["account"]["email"] == "admin@example.com"
    with FakeDify(generation, setup_done=False) as server:  # type: ignore[arg-type]
        assert server.version == capture["server_version"]
        checked = replay(server, capture)
        # Setup made the recorded account on the fake.
        assert server.account.password == capture["account"]["password"]
    assert checked == len(capture["exchanges"])


def test_email_code_capture() -> None:
    """The email-code capture, with the 5-minute windows shortened to 1 s.

    Time is compressed in two places. The token lifetime and the send window
    become 1 s, and a jump of a minute or more in the recorded clock becomes a
    1.1 s sleep. Exchange #18 (a code used after 5 minutes) then expires as
    recorded, and #19 (a send after the window) succeeds.

    The first jump, between the "no worker running" send (#1) and send #1
    (#3), is 152 s, inside the real 300 s window. The real server still took
    four sends (#1, #3, #12, #13) before refusing #15, because its limiter
    stores one entry per whole second and #12 and #13 fell in the same second.
    The fake counts every send, so the replay lets #1 age out of the shortened
    window instead. The 429 the capture shows on the fourth send in a window
    is what the fake checks.
    """
    capture = load("dify-1.16.0-rc1-email-code.json")
    with FakeDify("modern", email_code_ttl=1.0) as server:
        server.email_code_window = 1.0
        # The capture was made after turning these on in the server's .env.
        server.features["enable_email_code_login"] = True
        server.features["is_email_setup"] = True
        checked = replay(server, capture, pause=1.1)
    assert checked == len(capture["exchanges"])
