"""The fake Dify server's email-code login, over real HTTP."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

import pytest

from tests.fake_dify.client import (
    Session,
    call,
    encode,
    post_login,
    set_cookie_headers,
)

if TYPE_CHECKING:
    import requests

    from tests.fake_dify import FakeDify
    from tests.fake_dify.fixtures import FakeDifyFactory

EMAIL = "admin@example.com"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def send(server: FakeDify, email: str = EMAIL) -> requests.Response:
    return call(server, "POST", "/email-code-login", json={"email": email})


def validity(
    server: FakeDify, token: str, code: str, email: str = EMAIL
) -> requests.Response:
    if server.behaviour.encoded_secrets and code.isdigit():
        code = encode(code)
    body = {"email": email, "code": code, "token": token}
    return call(server, "POST", "/email-code-login/validity", json=body)


def error(response: requests.Response) -> tuple[int, str, str]:
    body = response.json()
    return response.status_code, body["code"], body["message"]


INVALID_TOKEN = (
    400,
    "invalid_or_expired_token",
    "The token is invalid or has expired.",
)


def test_send_puts_a_code_in_the_mailbox(fake_server: FakeDify) -> None:
    response = send(fake_server, "Admin@Example.com")
    body = response.json()
    assert body["result"] == "success"
    assert UUID.match(body["data"])
    mail = fake_server.mailbox[-1]
    # The account was found in lower case, and the code goes to its email.
    assert (mail.email, mail.token) == ("admin@example.com", body["data"])
    assert re.fullmatch(r"\d{6}", mail.code)
    assert fake_server.last_code("admin@example.com") == mail.code
    with pytest.raises(LookupError):
        fake_server.last_code("nobody@example.com")


@pytest.mark.parametrize("generation", ["legacy", "cookie", "modern"])
def test_right_code_logs_in_once(fake_dify: FakeDifyFactory, generation: str) -> None:
    server = fake_dify(generation)
    token = send(server).json()["data"]
    response = validity(server, token, server.last_code(EMAIL))
    session = Session.from_response(server, response)
    assert session.get("/account/profile").status_code == 200
    if server.behaviour.cookies:
        # Unlike password login, the CSRF cookie comes first.
        names = [h.partition("=")[0] for h in set_cookie_headers(response)]
        assert names == ["csrf_token", "access_token", "refresh_token"]

    again = validity(server, token, server.last_code(EMAIL))
    assert error(again) == INVALID_TOKEN


def test_modern_wants_the_code_base64_encoded(fake_server: FakeDify) -> None:
    token = send(fake_server).json()["data"]
    plain = {"email": EMAIL, "code": fake_server.last_code(EMAIL), "token": token}
    response = call(fake_server, "POST", "/email-code-login/validity", json=plain)
    assert error(response) == (400, "email_code_error", "Invalid encrypted code")
    # The token survives the refusal.
    assert validity(fake_server, token, fake_server.last_code(EMAIL)).ok


def test_older_servers_take_the_code_as_digits(fake_dify: FakeDifyFactory) -> None:
    server = fake_dify("cookie")
    token = send(server).json()["data"]
    encoded = validity(server, token, encode(server.last_code(EMAIL)))
    assert error(encoded)[:2] == (400, "email_code_error")
    assert validity(server, token, server.last_code(EMAIL)).ok


def test_wrong_code_keeps_the_token(fake_server: FakeDify) -> None:
    token = send(fake_server).json()["data"]
    right = fake_server.last_code(EMAIL)
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(10):  # no attempt limit
        response = validity(fake_server, token, wrong)
        assert error(response) == (
            400,
            "email_code_error",
            "Email code is invalid or expired.",
        )
    assert validity(fake_server, token, right).ok


def test_new_send_cancels_the_previous_token(fake_server: FakeDify) -> None:
    first = send(fake_server).json()["data"]
    first_code = fake_server.last_code(EMAIL)
    second = send(fake_server).json()["data"]
    assert error(validity(fake_server, first, first_code)) == INVALID_TOKEN
    assert validity(fake_server, second, fake_server.last_code(EMAIL)).ok


def test_fourth_send_in_five_minutes_is_refused(fake_server: FakeDify) -> None:
    for _ in range(3):
        assert send(fake_server).ok
    response = send(fake_server)
    assert error(response) == (
        429,
        "email_code_login_rate_limit_exceeded",
        "Too many login emails have been sent. Please try again in 5 minutes.",
    )
    # Per email: another account may still be sent a code.
    fake_server.add_account("other@example.com", "An0ther-pass")
    assert send(fake_server, "other@example.com").ok


def test_send_limit_window_passes(fake_server: FakeDify) -> None:
    fake_server.email_code_window = 0.5
    for _ in range(3):
        assert send(fake_server).ok
    assert send(fake_server).status_code == 429
    time.sleep(0.6)
    assert send(fake_server).ok


def test_before_1_9_one_send_per_minute(fake_dify: FakeDifyFactory) -> None:
    server = fake_dify("legacy", version="1.8.1")
    assert server.email_code_sends == (1, 60)
    assert send(server).ok
    assert error(send(server))[:2] == (429, "email_code_login_rate_limit_exceeded")


def test_code_expires(fake_dify: FakeDifyFactory) -> None:
    server = fake_dify("modern", email_code_ttl=0.5)
    token = send(server).json()["data"]
    time.sleep(0.6)
    assert error(validity(server, token, server.last_code(EMAIL))) == INVALID_TOKEN


def test_unknown_token_and_other_email(fake_server: FakeDify) -> None:
    token = send(fake_server).json()["data"]
    code = fake_server.last_code(EMAIL)
    unknown = validity(fake_server, "00000000-0000-0000-0000-000000000000", code)
    assert error(unknown) == INVALID_TOKEN
    other = validity(fake_server, token, code, email="someone@example.com")
    assert error(other) == (400, "invalid_email", "The email address is not valid.")
    assert validity(fake_server, token, code).ok


def test_unknown_email_is_not_found(fake_server: FakeDify) -> None:
    response = send(fake_server, "nobody@example.com")
    assert error(response) == (400, "account_not_found", "Account not found.")
    assert fake_server.mailbox == []


def test_open_registration_creates_the_account(fake_server: FakeDify) -> None:
    fake_server.features["is_allow_register"] = True
    fake_server.features["is_allow_create_workspace"] = True
    token = send(fake_server, "new@example.com").json()["data"]
    code = fake_server.last_code("new@example.com")
    session = Session.from_response(
        fake_server, validity(fake_server, token, code, email="new@example.com")
    )
    profile = session.get("/account/profile").json()
    assert (profile["email"], profile["is_password_set"]) == ("new@example.com", False)
    assert len(session.get("/workspaces").json()["workspaces"]) == 1


def test_until_1_11_2_the_email_must_match_as_typed(
    fake_dify: FakeDifyFactory,
) -> None:
    server = fake_dify(version="1.11.2")
    assert error(send(server, "Admin@Example.com"))[:2] == (400, "account_not_found")

    # With registration open the other spelling is a new address of its own,
    # with its own send limit, and its code is for it alone.
    server.features["is_allow_register"] = True
    server.features["is_allow_create_workspace"] = True
    for _ in range(3):
        token = send(server, "Admin@Example.com").json()["data"]
    assert send(server, "Admin@Example.com").status_code == 429
    assert send(server).ok
    code = server.mailbox[-2].code
    assert server.mailbox[-2].email == "Admin@Example.com"
    assert error(validity(server, token, code))[:2] == (400, "invalid_email")
    made = validity(server, token, code, email="Admin@Example.com")
    profile = Session.from_response(server, made).get("/account/profile").json()
    assert profile["email"] == "Admin@Example.com"
    assert profile["id"] != server.account.id


def test_from_1_11_3_case_is_folded(fake_dify: FakeDifyFactory) -> None:
    server = fake_dify(version="1.11.3")
    for _ in range(3):
        token = send(server, "Admin@Example.com").json()["data"]
    # The sends went to the account's email, and are counted there.
    assert send(server).status_code == 429
    code = server.last_code(EMAIL)
    session = Session.from_response(server, validity(server, token, code))
    assert session.get("/account/profile").json()["id"] == server.account.id

    server.features["is_allow_register"] = True
    server.features["is_allow_create_workspace"] = True
    token = send(server, "New@Example.com").json()["data"]
    assert server.mailbox[-1].email == "new@example.com"
    made = validity(server, token, server.mailbox[-1].code, email="NEW@example.com")
    profile = Session.from_response(server, made).get("/account/profile").json()
    assert profile["email"] == "new@example.com"


def test_no_workspace_and_none_allowed(fake_server: FakeDify) -> None:
    fake_server.add_account("lonely@example.com", workspaces=[])
    token = send(fake_server, "lonely@example.com").json()["data"]
    code = fake_server.last_code("lonely@example.com")
    response = validity(fake_server, token, code, email="lonely@example.com")
    assert error(response)[:2] == (400, "not_allowed_create_workspace")


def test_malformed_email(fake_server: FakeDify) -> None:
    response = send(fake_server, "not-an-email")
    status, code, message = error(response)
    assert (status, code) == (400, "invalid_param")
    assert "not-an-email is not a valid email." in message


def test_banned_account(fake_server: FakeDify) -> None:
    fake_server.add_account("bad@example.com", "B4nned-pass", banned=True)
    assert error(send(fake_server, "bad@example.com")) == (
        401,
        "unauthorized",
        "Account is banned.",
    )


@pytest.mark.parametrize(
    ("version", "status", "code"),
    [
        ("1.9.1", 401, "unauthorized"),
        ("1.11.1", 401, "unauthorized"),
        ("1.13.3", 401, "unauthorized"),
        ("1.14.0", 400, "account_banned"),
        ("1.16.0-rc1", 400, "account_banned"),
    ],
)
def test_banned_after_the_send(
    fake_dify: FakeDifyFactory, version: str, status: int, code: str
) -> None:
    server = fake_dify(version=version)
    account = server.add_account("bad@example.com", "B4nned-pass")
    token = send(server, "bad@example.com").json()["data"]
    account.banned = True
    mailed = server.last_code("bad@example.com")
    response = validity(server, token, mailed, email="bad@example.com")
    assert error(response) == (status, code, "Account is banned.")
    assert ("WWW-Authenticate" in response.headers) == (status == 401)
    # The code was right, so the token is spent all the same.
    again = validity(server, token, mailed, email="bad@example.com")
    assert error(again) == INVALID_TOKEN


def test_code_login_clears_the_password_lockout(fake_server: FakeDify) -> None:
    for _ in range(6):
        post_login(fake_server, password="wrong-password1")
    assert post_login(fake_server).status_code == 429
    token = send(fake_server).json()["data"]
    assert validity(fake_server, token, fake_server.last_code(EMAIL)).ok
    assert post_login(fake_server).status_code == 200


def test_the_flag_does_not_gate_the_endpoints(fake_server: FakeDify) -> None:
    assert fake_server.features["enable_email_code_login"] is False
    assert send(fake_server).ok
