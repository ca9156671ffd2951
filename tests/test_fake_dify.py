"""The fake Dify server's login contract: each failure and quirk, over real HTTP."""

from __future__ import annotations

import base64
import json
import re
import time
from typing import TYPE_CHECKING

import pytest

from tests.fake_dify.client import (
    Session,
    call,
    encode,
    login,
    login_with_code,
    post_login,
    set_cookie_headers,
    set_cookies,
)

if TYPE_CHECKING:
    import requests

    from tests.fake_dify import FakeDify
    from tests.fake_dify.fixtures import FakeDifyFactory

GENERATIONS = ["legacy", "cookie", "modern"]
PASSWORD = "Passw0rd!Example"


def claims(token: str) -> dict[str, object]:
    payload = token.split(".")[1]
    data: dict[str, object] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return data


def error_code(response: requests.Response) -> tuple[int, str, str]:
    body = response.json()
    return response.status_code, body["code"], body["message"]


# Versions and generations


@pytest.mark.parametrize("generation", GENERATIONS)
def test_every_response_reports_the_version(
    fake_dify: FakeDifyFactory, generation: str
) -> None:
    server = fake_dify(generation)
    for method, path in [
        ("GET", "/system-features"),
        ("GET", "/account/profile"),  # 401
        ("PUT", "/login"),  # 405
        ("GET", "/no-such-thing"),  # 404
        ("POST", "/login"),  # 400
    ]:
        response = call(server, method, path)
        assert response.headers["X-Version"] == server.version, path
        assert response.headers["X-Env"] == "PRODUCTION", path


@pytest.mark.parametrize(
    ("version", "exposed", "on_405"),
    [
        ("1.10.1", "X-Env, X-Version", False),
        ("1.11.1", "X-Env, X-Trace-Id, X-Version", False),
        ("1.12.0", "X-Env, X-Trace-Id, X-Version", True),
    ],
)
def test_cors_headers(
    fake_dify: FakeDifyFactory, version: str, exposed: str, on_405: bool
) -> None:
    server = fake_dify(version=version)
    response = call(server, "GET", "/system-features")
    assert response.headers["Access-Control-Allow-Origin"] == server.url
    assert response.headers["Access-Control-Expose-Headers"] == exposed
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    # Before 1.12 CORS covered only requests that reached a route.
    wrong_method = call(server, "PUT", "/login")
    assert ("Access-Control-Allow-Origin" in wrong_method.headers) == on_405


@pytest.mark.parametrize(
    ("generation", "version"),
    [("legacy", "1.9.1"), ("cookie", "1.11.1"), ("modern", "1.16.0-rc1")],
)
def test_default_versions(
    fake_dify: FakeDifyFactory, generation: str, version: str
) -> None:
    assert call(fake_dify(generation), "GET", "/ping").headers["X-Version"] == version


def test_wrong_password_before_1_8_is_a_mismatch(fake_dify: FakeDifyFactory) -> None:
    server = fake_dify("legacy", version="1.7.2")
    response = post_login(server, password="wrong-password1")
    assert response.headers["X-Version"] == "1.7.2"
    assert error_code(response)[:2] == (400, "email_or_password_mismatch")
    # 1.8.0 is the first release with the 401.
    server = fake_dify("legacy", version="1.8.0")
    response = post_login(server, password="wrong-password1")
    assert error_code(response)[:2] == (401, "authentication_failed")


def test_unknown_email_before_1_9_is_not_found(fake_dify: FakeDifyFactory) -> None:
    server = fake_dify("legacy", version="1.8.0")
    response = post_login(server, email="nobody@example.com")
    assert error_code(response)[:2] == (400, "account_not_found")


def test_login_password_rule_before_1_9(fake_dify: FakeDifyFactory) -> None:
    server = fake_dify("legacy", version="1.8.0")
    response = post_login(server, password="short")
    assert response.status_code == 400
    assert response.json() == {
        "errors": {
            "password": "Password must contain letters and numbers, "
            "and the length must be greater than 8."
        },
        "message": "Input payload validation failed",
    }


def test_unknown_email_from_1_9_fails_authentication_and_counts(
    fake_dify: FakeDifyFactory,
) -> None:
    server = fake_dify("legacy")
    for _ in range(6):
        response = post_login(server, email="nobody@example.com")
        assert error_code(response)[:2] == (401, "authentication_failed")
    response = post_login(server, email="nobody@example.com")
    assert error_code(response)[:2] == (429, "email_code_login_limit")


def test_cookie_server_before_1_10_1_gets_current_workspace(
    fake_dify: FakeDifyFactory,
) -> None:
    server = fake_dify("cookie", version="1.10.0")
    session = login(server)
    assert session.get("/workspaces/current").status_code == 200
    assert error_code(session.post("/workspaces/current"))[:2] == (
        405,
        "method_not_allowed",
    )


def test_two_point_oh_beta_behaves_legacy(fake_dify: FakeDifyFactory) -> None:
    server = fake_dify("legacy", version="2.0.0-beta2", setup_done=False)
    assert call(server, "GET", "/ping").headers["X-Version"] == "2.0.0-beta2"
    # Not fastopenapi's shapes, although 2.0.0 sorts above 1.12.
    assert call(server, "GET", "/setup").json() == {"step": "not_started"}
    assert call(server, "GET", "/version").json()["message"] == (
        "Input payload validation failed"
    )
    body = {"email": "admin@example.com", "name": "Admin", "password": PASSWORD}
    assert call(server, "POST", "/setup", json=body).status_code == 201

    session = login(server)  # tokens in the body, plain password
    assert session.csrf_token is None
    assert session.get("/workspaces/current").status_code == 200
    assert call(server, "POST", "/logout", headers=session.headers()).status_code == 405
    assert session.logout().status_code == 200


@pytest.mark.parametrize(
    ("generation", "status", "shape"),
    [("legacy", 400, "errors"), ("cookie", 400, "code"), ("modern", 422, "error")],
)
def test_version_needs_its_query(
    fake_dify: FakeDifyFactory, generation: str, status: int, shape: str
) -> None:
    server = fake_dify(generation)
    response = call(server, "GET", "/version")
    assert response.status_code == status
    assert shape in response.json()
    answer = call(server, "GET", "/version?current_version=0.1.0").json()
    assert answer["version"] == server.version


def test_ping(fake_server: FakeDify) -> None:
    assert call(fake_server, "GET", "/ping").json() == {"result": "pong"}


@pytest.mark.parametrize(
    ("generation", "method", "path"),
    [
        ("legacy", "POST", "/logout"),
        ("legacy", "POST", "/workspaces/current"),
        ("cookie", "GET", "/logout"),
        ("cookie", "GET", "/workspaces/current"),
        ("modern", "GET", "/logout"),
        ("modern", "GET", "/refresh-token"),
    ],
)
def test_wrong_method_is_405(
    fake_dify: FakeDifyFactory, generation: str, method: str, path: str
) -> None:
    response = call(fake_dify(generation), method, path)
    assert response.json() == {
        "code": "method_not_allowed",
        "message": "The method is not allowed for the requested URL.",
        "status": 405,
    }


def test_unknown_path_is_404(fake_server: FakeDify) -> None:
    assert error_code(call(fake_server, "GET", "/nothing-here"))[:2] == (
        404,
        "not_found",
    )


# Setup and init


@pytest.mark.parametrize("generation", GENERATIONS)
def test_not_setup(fake_dify: FakeDifyFactory, generation: str) -> None:
    server = fake_dify(generation, setup_done=False)
    response = post_login(server)
    assert error_code(response)[:2] == (401, "not_setup")
    assert error_code(call(server, "GET", "/account/profile"))[:2] == (401, "not_setup")
    # Bootstrapping endpoints still answer.
    assert call(server, "GET", "/system-features").status_code == 200
    with pytest.raises(RuntimeError):
        _ = server.account


@pytest.mark.parametrize(
    ("generation", "not_started"),
    [
        ("legacy", {"step": "not_started"}),
        ("modern", {"step": "not_started", "setup_at": None}),
    ],
)
def test_setup_makes_the_account(
    fake_dify: FakeDifyFactory, generation: str, not_started: dict[str, object]
) -> None:
    server = fake_dify(generation, setup_done=False)
    assert call(server, "GET", "/setup").json() == not_started
    body = {"email": "owner@example.com", "name": "Owner", "password": "s3cretpass"}
    response = call(server, "POST", "/setup", json=body)
    assert (response.status_code, response.json()) == (201, {"result": "success"})
    assert not set_cookie_headers(response)

    status = call(server, "GET", "/setup").json()
    assert status["step"] == "finished"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", status["setup_at"])
    assert server.account.email == "owner@example.com"
    login(server, "owner@example.com", "s3cretpass")


def test_setup_twice_is_already_setup(fake_dify: FakeDifyFactory) -> None:
    body = {"email": "a@example.com", "name": "A", "password": "s3cretpass"}
    legacy = call(fake_dify("legacy"), "POST", "/setup", json=body)
    assert error_code(legacy)[:2] == (403, "already_setup")
    # From 1.12 fastopenapi serves /setup and drops Dify's error code.
    modern = call(fake_dify("modern"), "POST", "/setup", json=body)
    assert modern.status_code == 403
    assert modern.json() == {
        "error": {"type": "authorization_error", "message": "Forbidden", "status": 403}
    }


def test_setup_password_rule(fake_dify: FakeDifyFactory) -> None:
    body = {"email": "a@example.com", "name": "A", "password": "lettersonly"}
    legacy = call(fake_dify("legacy", setup_done=False), "POST", "/setup", json=body)
    assert legacy.json()["errors"] == {
        "password": "Password must contain letters and numbers, "
        "and the length must be greater than 8."
    }
    cookie = call(fake_dify("cookie", setup_done=False), "POST", "/setup", json=body)
    assert error_code(cookie)[:2] == (400, "invalid_param")
    modern = call(fake_dify("modern", setup_done=False), "POST", "/setup", json=body)
    assert modern.status_code == 422


def test_init_password_guards_setup(fake_dify: FakeDifyFactory) -> None:
    server = fake_dify("cookie", setup_done=False, init_password="letmein")
    assert error_code(post_login(server))[:2] == (401, "not_init_validated")
    assert call(server, "GET", "/init").json() == {"status": "not_started"}

    wrong = call(server, "POST", "/init", json={"password": "nope"})
    assert error_code(wrong)[:2] == (401, "init_validate_failed")
    body = {"email": "a@example.com", "name": "A", "password": "s3cretpass"}
    unvalidated = call(server, "POST", "/setup", json=body)
    assert error_code(unvalidated)[:2] == (401, "not_init_validated")

    right = call(server, "POST", "/init", json={"password": "letmein"})
    assert right.status_code == 201
    session = set_cookies(right)["session"]
    headers = {"Cookie": f"session={session}"}
    assert call(server, "POST", "/setup", json=body, headers=headers).status_code == 201
    assert error_code(call(server, "POST", "/init", json={"password": "letmein"}))[
        :2
    ] == (403, "already_setup")


def test_modern_init_errors_take_fastopenapi_shape(fake_dify: FakeDifyFactory) -> None:
    server = fake_dify("modern", setup_done=False, init_password="letmein")
    wrong = call(server, "POST", "/init", json={"password": "nope"})
    assert wrong.status_code == 401
    assert wrong.json() == {
        "error": {
            "type": "authentication_error",
            "message": "Unauthorized",
            "status": 401,
        }
    }
    # Login is a flask-restx route still: Dify's own code survives there.
    assert error_code(post_login(server))[:2] == (401, "not_init_validated")


def test_init_without_init_password_is_finished(fake_dify: FakeDifyFactory) -> None:
    server = fake_dify("legacy", setup_done=False)
    assert call(server, "GET", "/init").json() == {"status": "finished"}


def test_cloud_is_always_set_up(fake_dify: FakeDifyFactory) -> None:
    server = fake_dify("modern", cloud=True, setup_done=False)
    assert call(server, "GET", "/setup").json() == {"step": "finished"}
    body = {"email": "a@example.com", "name": "A", "password": "s3cretpass"}
    assert call(server, "POST", "/setup", json=body).status_code == 404
    assert call(server, "POST", "/init", json={"password": "x"}).status_code == 404
    session = login(server)
    assert claims(session.access_token)["iss"] == "CLOUD"


# Password login


def test_legacy_login_returns_tokens_in_the_body(fake_dify: FakeDifyFactory) -> None:
    server = fake_dify("legacy", access_ttl=120)
    response = post_login(server)
    assert not set_cookie_headers(response)
    data = response.json()["data"]
    assert set(data) == {"access_token", "refresh_token"}
    assert re.fullmatch(r"[0-9a-f]{128}", data["refresh_token"])

    access = claims(data["access_token"])
    assert list(access) == ["user_id", "exp", "iss", "sub"]
    assert access["user_id"] == server.account.id
    assert access["iss"] == "SELF_HOSTED"
    assert access["sub"] == "Console API Passport"
    assert abs(int(str(access["exp"])) - (time.time() + 120)) < 5


def test_cookie_login_sets_three_cookies(fake_dify: FakeDifyFactory) -> None:
    server = fake_dify("cookie", access_ttl=120)
    response = post_login(server)
    assert response.json() == {"result": "success"}
    headers = set_cookie_headers(response)
    assert [h.partition("=")[0] for h in headers] == [
        "access_token",
        "refresh_token",
        "csrf_token",
    ]
    attributes = [h.split("; ", 1)[1] for h in headers]
    assert re.fullmatch(
        r"Expires=[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT; "
        r"Max-Age=120; HttpOnly; Path=/; SameSite=Lax",
        attributes[0],
    )
    assert attributes[1].endswith("Max-Age=2592000; HttpOnly; Path=/; SameSite=Lax")
    assert attributes[2].endswith("Max-Age=120; Path=/; SameSite=Lax")

    csrf = claims(set_cookies(response)["csrf_token"])
    assert list(csrf) == ["exp", "sub"]
    assert csrf["sub"] == server.account.id


def test_https_cookies_are_host_prefixed_and_secure(fake_dify: FakeDifyFactory) -> None:
    server = fake_dify("modern", https=True)
    assert server.url.startswith("https://127.0.0.1:")
    response = post_login(server)
    headers = set_cookie_headers(response)
    assert [h.partition("=")[0] for h in headers] == [
        "__Host-access_token",
        "__Host-refresh_token",
        "__Host-csrf_token",
    ]
    assert all("; Secure; " in h for h in headers)
    assert "Max-Age=3600; Secure; HttpOnly; Path=/" in headers[0]

    session = Session.from_response(server, response)
    assert session.get("/account/profile").status_code == 200
    # The server reads only the names it sets.
    plain = {
        "Cookie": f"access_token={session.access_token}; "
        f"csrf_token={session.csrf_token}",
        "X-CSRF-Token": str(session.csrf_token),
    }
    response = call(server, "GET", "/account/profile", headers=plain)
    assert error_code(response)[2] == "Invalid Authorization token."


def test_modern_refuses_a_plain_password_without_counting_it(
    fake_dify: FakeDifyFactory,
) -> None:
    server = fake_dify("modern")
    body = {"email": "admin@example.com", "password": PASSWORD}
    for _ in range(8):
        response = call(server, "POST", "/login", json=body)
        assert error_code(response) == (
            401,
            "authentication_failed",
            "Invalid encrypted data",
        )
    assert post_login(server).status_code == 200


def test_base64_password_to_an_older_server_counts_as_wrong(
    fake_dify: FakeDifyFactory,
) -> None:
    server = fake_dify("cookie")
    body = {"email": "admin@example.com", "password": encode(PASSWORD)}
    for _ in range(6):
        response = call(server, "POST", "/login", json=body)
        assert error_code(response) == (
            401,
            "authentication_failed",
            "Invalid email or password.",
        )
    assert error_code(post_login(server))[:2] == (429, "email_code_login_limit")


@pytest.mark.parametrize("generation", GENERATIONS)
def test_lockout_refuses_the_seventh_attempt_even_when_right(
    fake_dify: FakeDifyFactory, generation: str
) -> None:
    server = fake_dify(generation)
    for _ in range(6):
        assert post_login(server, password="wrong-password1").status_code == 401
    response = post_login(server)
    assert error_code(response) == (
        429,
        "email_code_login_limit",
        "Too many incorrect password attempts. Please try again later.",
    )


def test_lockout_is_per_email_case_insensitive(fake_server: FakeDify) -> None:
    for _ in range(6):
        post_login(fake_server, email="Admin@Example.com", password="wrong1pass")
    assert post_login(fake_server).status_code == 429
    fake_server.add_account("other@example.com", "An0ther-pass")
    assert post_login(fake_server, "other@example.com", "An0ther-pass").ok


@pytest.mark.parametrize("version", ["1.9.1", "1.11.2"])
def test_until_1_11_2_emails_match_as_typed(
    fake_dify: FakeDifyFactory, version: str
) -> None:
    server = fake_dify(version=version)
    response = post_login(server, email="Admin@Example.com")
    assert error_code(response)[:2] == (401, "authentication_failed")
    # Failures are counted per email as typed: the lower-case one is not locked.
    for _ in range(5):
        post_login(server, email="Admin@Example.com")
    assert post_login(server, email="Admin@Example.com").status_code == 429
    assert post_login(server).status_code == 200
    # Another spelling is another account.
    server.add_account("ADMIN@example.com", "Upp3r-case-pass")
    assert post_login(server, "ADMIN@example.com", "Upp3r-case-pass").ok


def test_from_1_11_3_an_email_is_tried_in_lower_case(
    fake_dify: FakeDifyFactory,
) -> None:
    server = fake_dify(version="1.11.3")
    assert post_login(server, email="Admin@Example.com").status_code == 200
    # Only the typed email is lowered: a mixed-case record is found as typed.
    server.add_account("Old@Example.com", "0ld-record-pass")
    assert post_login(server, "Old@Example.com", "0ld-record-pass").ok
    response = post_login(server, "old@example.com", "0ld-record-pass")
    assert error_code(response)[:2] == (401, "authentication_failed")


@pytest.mark.parametrize(
    ("version", "stored"),
    [("1.11.2", "Owner@Example.com"), ("1.11.3", "owner@example.com")],
)
def test_setup_keeps_or_lowers_the_email(
    fake_dify: FakeDifyFactory, version: str, stored: str
) -> None:
    server = fake_dify(version=version, setup_done=False)
    body = {"email": "Owner@Example.com", "name": "Owner", "password": "s3cretpass"}
    assert call(server, "POST", "/setup", json=body).status_code == 201
    assert server.account.email == stored


def test_success_clears_the_failure_count(fake_server: FakeDify) -> None:
    for _ in range(5):
        assert post_login(fake_server, password="wrong-password1").status_code == 401
    assert post_login(fake_server).status_code == 200
    for _ in range(5):
        assert post_login(fake_server, password="wrong-password1").status_code == 401
    assert post_login(fake_server).status_code == 200


def test_lockout_expires(fake_server: FakeDify) -> None:
    fake_server.book.lockout_seconds = 0.5
    for _ in range(6):
        post_login(fake_server, password="wrong-password1")
    assert post_login(fake_server).status_code == 429
    time.sleep(0.6)
    assert post_login(fake_server).status_code == 200


def test_password_login_disabled_is_forbidden(fake_server: FakeDify) -> None:
    fake_server.features["enable_email_password_login"] = False
    assert error_code(post_login(fake_server))[:2] == (403, "forbidden")
    assert call(fake_server, "GET", "/system-features").json()[
        "enable_email_password_login"
    ] is (False)


@pytest.mark.parametrize("generation", GENERATIONS)
def test_login_without_a_workspace_fails_with_200(
    fake_dify: FakeDifyFactory, generation: str
) -> None:
    server = fake_dify(generation)
    server.add_account("lonely@example.com", "L0nely-pass", workspaces=[])
    response = post_login(server, "lonely@example.com", "L0nely-pass")
    assert response.status_code == 200
    body = response.json()
    assert body["result"] == "fail"
    assert body["data"].startswith("workspace not found")
    assert not set_cookie_headers(response)


def test_banned_account(fake_server: FakeDify) -> None:
    account = fake_server.add_account("bad@example.com", "B4nned-pass")
    session = login(fake_server, "bad@example.com", "B4nned-pass")
    account.banned = True
    response = post_login(fake_server, "bad@example.com", "B4nned-pass")
    assert error_code(response) == (400, "account_banned", "Account is banned.")
    assert error_code(session.get("/account/profile")) == (
        401,
        "unauthorized",
        "Account is banned.",
    )


def test_banned_at_creation(fake_server: FakeDify) -> None:
    fake_server.add_account("bad@example.com", "B4nned-pass", banned=True)
    response = post_login(fake_server, "bad@example.com", "B4nned-pass")
    assert error_code(response)[:2] == (400, "account_banned")


@pytest.mark.parametrize(
    ("version", "key"),
    [
        ("1.9.1", "errors"),
        # Cookie servers kept reqparse until 1.11.0 brought pydantic.
        ("1.10.1", "errors"),
        ("1.11.0", "code"),
        ("1.16.0-rc1", "code"),
    ],
)
def test_login_body_is_validated(
    fake_dify: FakeDifyFactory, version: str, key: str
) -> None:
    server = fake_dify(version=version)
    response = call(server, "POST", "/login", json={"email": "admin@example.com"})
    assert response.status_code == 400
    assert key in response.json()
    bad = call(server, "POST", "/login", json={"email": "nope", "password": "x"})
    assert bad.status_code == 400


# Cloud


def test_cloud_frozen_email(fake_dify: FakeDifyFactory) -> None:
    server = fake_dify("modern", cloud=True)
    server.freeze_email("admin@example.com")
    assert error_code(post_login(server)) == (
        400,
        "account_in_freeze",
        "This email account has been deleted within the past 30 days"
        "and is temporarily unavailable for new account registration.",
    )
    response = call(
        server, "POST", "/email-code-login", json={"email": "admin@example.com"}
    )
    assert error_code(response)[:2] == (400, "account_in_freeze")


def test_cloud_social_account_has_no_password(fake_dify: FakeDifyFactory) -> None:
    server = fake_dify("modern", cloud=True)
    server.add_account("social@example.com")
    response = post_login(server, "social@example.com", "anything1")
    assert error_code(response)[:2] == (401, "authentication_failed")
    session = login_with_code(server, "social@example.com")
    assert session.get("/account/profile").json()["is_password_set"] is False


# Authenticated requests


def test_legacy_reads_bearer_or_query_token_and_ignores_cookies(
    fake_dify: FakeDifyFactory,
) -> None:
    server = fake_dify("legacy")
    session = login(server)
    assert session.get("/account/profile").json()["email"] == "admin@example.com"
    query = call(server, "GET", f"/account/profile?_token={session.access_token}")
    assert query.status_code == 200
    cookie = {"Cookie": f"access_token={session.access_token}"}
    response = call(server, "GET", "/account/profile", headers=cookie)
    assert error_code(response)[2] == "Invalid Authorization token."
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="api"'


@pytest.mark.parametrize("generation", ["cookie", "modern"])
def test_csrf_double_submit(fake_dify: FakeDifyFactory, generation: str) -> None:
    server = fake_dify(generation)
    session = login(server)
    csrf = str(session.csrf_token)
    bearer = f"Bearer {session.access_token}"
    csrf_failure = (401, "unauthorized", "CSRF token is missing or invalid.")
    cases: list[dict[str, str]] = [
        {"Authorization": bearer},
        {"Authorization": bearer, "X-CSRF-Token": csrf},
        {"Cookie": f"access_token={session.access_token}; csrf_token={csrf}"},
        {
            "Cookie": f"access_token={session.access_token}; csrf_token={csrf}",
            "X-CSRF-Token": csrf + "x",
        },
        {
            "Cookie": f"access_token={session.access_token}; csrf_token=a.b.c",
            "X-CSRF-Token": "a.b.c",
        },
    ]
    for headers in cases:
        response = call(server, "GET", "/account/profile", headers=headers)
        assert error_code(response) == csrf_failure, headers

    good = {
        "Authorization": bearer,
        "X-CSRF-Token": csrf,
        "Cookie": f"csrf_token={csrf}",
    }
    assert call(server, "GET", "/account/profile", headers=good).status_code == 200
    assert session.get("/account/profile").status_code == 200


def test_csrf_of_another_account_is_refused(fake_server: FakeDify) -> None:
    fake_server.add_account("other@example.com", "An0ther-pass")
    mine = login(fake_server)
    theirs = login(fake_server, "other@example.com", "An0ther-pass")
    mine.csrf_token = theirs.csrf_token
    assert error_code(mine.get("/account/profile"))[2] == (
        "CSRF token is missing or invalid."
    )


def test_cookie_servers_refuse_the_query_token(fake_dify: FakeDifyFactory) -> None:
    server = fake_dify("cookie")
    session = login(server)
    headers = {"Cookie": f"csrf_token={session.csrf_token}"}
    headers["X-CSRF-Token"] = str(session.csrf_token)
    response = call(
        server,
        "GET",
        f"/account/profile?_token={session.access_token}",
        headers=headers,
    )
    assert error_code(response)[2] == "Invalid Authorization token."


@pytest.mark.parametrize("header", ["Token abc", "Bearer", "abc"])
def test_a_malformed_authorization_header(
    fake_dify: FakeDifyFactory, header: str
) -> None:
    legacy = fake_dify("legacy")
    response = call(
        legacy, "GET", "/account/profile", headers={"Authorization": header}
    )
    assert error_code(response) == (
        401,
        "unauthorized",
        "Invalid Authorization header format. Expected 'Bearer <api-key>' format.",
    )

    # From 1.9.2 such a header is passed over: the cookies decide.
    for generation in ("cookie", "modern"):
        server = fake_dify(generation)
        response = call(
            server, "GET", "/account/profile", headers={"Authorization": header}
        )
        assert error_code(response)[2] == "Invalid Authorization token."
        session = login(server)
        headers = session.headers() | {"Authorization": header}
        response = call(server, "GET", "/account/profile", headers=headers)
        assert response.status_code == 200, generation


def test_cookie_wins_over_bearer(fake_server: FakeDify) -> None:
    session = login(fake_server)
    csrf = str(session.csrf_token)
    headers = session.headers() | {"Authorization": "Bearer not-a-jwt"}
    assert call(fake_server, "GET", "/account/profile", headers=headers).ok
    headers = {
        "Cookie": f"access_token=not-a-jwt; csrf_token={csrf}",
        "X-CSRF-Token": csrf,
        "Authorization": f"Bearer {session.access_token}",
    }
    response = call(fake_server, "GET", "/account/profile", headers=headers)
    assert error_code(response)[2] == "Invalid token."


def test_bad_tokens(fake_dify: FakeDifyFactory) -> None:
    server = fake_dify("legacy")
    other = fake_dify("legacy")
    forged = login(other).access_token  # signed with another server's key
    for token, message in [
        ("not-a-jwt", "Invalid token."),
        (forged, "Invalid token signature."),
    ]:
        headers = {"Authorization": f"Bearer {token}"}
        response = call(server, "GET", "/account/profile", headers=headers)
        assert error_code(response) == (401, "unauthorized", message)
    headers = {"Authorization": "Token abc"}
    response = call(server, "GET", "/account/profile", headers=headers)
    assert error_code(response)[0] == 401


@pytest.mark.parametrize("generation", GENERATIONS)
def test_access_token_expires(fake_dify: FakeDifyFactory, generation: str) -> None:
    server = fake_dify(generation, access_ttl=1)
    session = login(server)
    assert session.get("/account/profile").status_code == 200
    time.sleep(2.1)
    response = session.get("/account/profile")
    assert error_code(response) == (401, "unauthorized", "Token has expired.")
    assert session.refresh().status_code == 200
    assert session.get("/account/profile").status_code == 200


@pytest.mark.parametrize("generation", GENERATIONS)
def test_expire_access_tokens(fake_dify: FakeDifyFactory, generation: str) -> None:
    server = fake_dify(generation)
    session = login(server)
    server.expire_access_tokens()
    assert error_code(session.get("/account/profile"))[2] == "Token has expired."
    assert session.refresh().status_code == 200
    assert session.get("/account/profile").status_code == 200


def test_expired_csrf_token_is_a_csrf_failure(fake_server: FakeDify) -> None:
    old = login(fake_server)
    fake_server.expire_access_tokens()
    time.sleep(1)  # tokens made in the same second are the same string
    fresh = login(fake_server)
    fresh.csrf_token = old.csrf_token
    assert error_code(fresh.get("/account/profile"))[2] == (
        "CSRF token is missing or invalid."
    )


@pytest.mark.parametrize("generation", GENERATIONS)
def test_access_tokens_outlive_refresh_and_logout(
    fake_dify: FakeDifyFactory, generation: str
) -> None:
    server = fake_dify(generation)
    session = login(server)
    old = Session(
        server, session.access_token, session.refresh_token, session.csrf_token
    )
    assert session.refresh().status_code == 200
    assert old.get("/account/profile").status_code == 200
    # An older CSRF token still goes with a newer access token.
    mixed = Session(server, session.access_token, "", old.csrf_token)
    assert mixed.get("/account/profile").status_code == 200
    assert session.logout().status_code == 200
    assert old.get("/account/profile").status_code == 200


# Refresh


def test_legacy_refresh_rotates(fake_dify: FakeDifyFactory) -> None:
    server = fake_dify("legacy")
    session = login(server)
    old = session.refresh_token
    response = session.refresh()
    assert set(response.json()["data"]) == {"access_token", "refresh_token"}
    assert session.refresh_token != old

    reused = call(server, "POST", "/refresh-token", json={"refresh_token": old})
    assert reused.status_code == 401
    assert reused.json() == {"result": "fail", "data": "Invalid refresh token"}
    assert "WWW-Authenticate" not in reused.headers


def test_legacy_refresh_without_a_body_is_400(fake_dify: FakeDifyFactory) -> None:
    response = call(fake_dify("legacy"), "POST", "/refresh-token")
    assert response.status_code == 400
    assert response.json() == {
        "errors": {"refresh_token": "Missing required parameter in the JSON body"},
        "message": "Input payload validation failed",
    }


@pytest.mark.parametrize("generation", ["cookie", "modern"])
def test_cookie_refresh_rotates(fake_dify: FakeDifyFactory, generation: str) -> None:
    server = fake_dify(generation)
    session = login(server)
    old = session.refresh_token

    body_only = call(server, "POST", "/refresh-token", json={"refresh_token": old})
    assert (body_only.status_code, body_only.json()) == (
        401,
        {"result": "fail", "message": "No refresh token provided"},
    )

    response = session.refresh()
    assert response.json() == {"result": "success"}
    names = [h.partition("=")[0] for h in set_cookie_headers(response)]
    assert names == ["csrf_token", "access_token", "refresh_token"]

    reused = call(
        server, "POST", "/refresh-token", headers={"Cookie": f"refresh_token={old}"}
    )
    assert reused.json() == {"result": "fail", "message": "Invalid refresh token"}
    assert session.get("/account/profile").status_code == 200


@pytest.mark.parametrize(
    ("generation", "key"),
    [("legacy", "data"), ("cookie", "message"), ("modern", "message")],
)
def test_refresh_for_a_banned_account(
    fake_dify: FakeDifyFactory, generation: str, key: str
) -> None:
    server = fake_dify(generation)
    account = server.add_account("bad@example.com", "B4nned-pass")
    session = login(server, "bad@example.com", "B4nned-pass")
    account.banned = True
    response = session.refresh()
    assert response.status_code == 401
    assert response.json() == {
        "result": "fail",
        key: "401 Unauthorized: Account is banned.",
    }
    assert not set_cookie_headers(response)
    # The token is kept: it renews again once the ban is lifted.
    account.banned = False
    assert session.refresh().status_code == 200


def test_refresh_needs_no_csrf_and_no_setup(fake_server: FakeDify) -> None:
    session = login(fake_server)
    fake_server.setup_done = False  # refresh skips the setup check
    headers = {"Cookie": f"refresh_token={session.refresh_token}"}
    assert call(fake_server, "POST", "/refresh-token", headers=headers).ok


# Logout


@pytest.mark.parametrize("generation", GENERATIONS)
def test_logout_revokes_the_newest_refresh_token_not_the_callers(
    fake_dify: FakeDifyFactory, generation: str
) -> None:
    server = fake_dify(generation)
    first = login(server)
    second = login(server)
    assert first.logout().status_code == 200
    assert first.refresh().status_code == 200
    assert second.refresh().status_code == 401


@pytest.mark.parametrize("generation", GENERATIONS)
def test_logout_after_refresh_revokes_the_refreshed_token(
    fake_dify: FakeDifyFactory, generation: str
) -> None:
    server = fake_dify(generation)
    session = login(server)
    assert session.refresh().status_code == 200
    assert session.logout().status_code == 200
    assert session.refresh().status_code == 401


def test_second_logout_revokes_nothing(fake_server: FakeDify) -> None:
    first = login(fake_server)
    second = login(fake_server)
    assert second.logout().status_code == 200
    assert second.logout().status_code == 200
    assert first.refresh().status_code == 200


def test_cookie_logout_clears_cookies_without_csrf(fake_dify: FakeDifyFactory) -> None:
    server = fake_dify("modern", https=True)
    session = login(server)
    bearer = {"Authorization": f"Bearer {session.access_token}"}
    response = call(server, "POST", "/logout", headers=bearer)
    assert response.json() == {"result": "success"}
    assert set_cookie_headers(response) == [
        "__Host-access_token=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Secure; "
        "HttpOnly; Path=/; SameSite=Lax",
        "__Host-refresh_token=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Secure; "
        "HttpOnly; Path=/; SameSite=Lax",
        "__Host-csrf_token=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Secure; "
        "Path=/; SameSite=Lax",
    ]


@pytest.mark.parametrize("generation", GENERATIONS)
def test_logout_needs_an_access_token(
    fake_dify: FakeDifyFactory, generation: str
) -> None:
    server = fake_dify(generation)
    response = call(server, server.behaviour.logout_method, "/logout")
    assert error_code(response) == (401, "unauthorized", "Invalid Authorization token.")


# Profile and workspaces


@pytest.mark.parametrize("generation", GENERATIONS)
def test_profile(fake_dify: FakeDifyFactory, generation: str) -> None:
    server = fake_dify(generation)
    profile = login(server).get("/account/profile").json()
    assert set(profile) == {
        "id",
        "name",
        "avatar",
        "avatar_url",
        "email",
        "is_password_set",
        "interface_language",
        "interface_theme",
        "timezone",
        "last_login_at",
        "last_login_ip",
        "created_at",
    }
    assert profile["id"] == server.account.id
    assert profile["name"] == "Admin"
    assert profile["is_password_set"] is True
    assert profile["last_login_ip"] == "127.0.0.1"
    assert abs(profile["last_login_at"] - time.time()) < 5


@pytest.mark.parametrize("generation", GENERATIONS)
def test_workspaces_and_switch(fake_dify: FakeDifyFactory, generation: str) -> None:
    server = fake_dify(generation)
    second = server.add_workspace(server.account, "Second")
    session = login(server)
    method = server.behaviour.current_workspace_method

    listed = session.get("/workspaces").json()["workspaces"]
    assert [(w["name"], w["current"]) for w in listed] == [
        ("Admin's Workspace", True),
        ("Second", False),
    ]
    current = call(server, method, "/workspaces/current", headers=session.headers())
    assert current.json()["name"] == "Admin's Workspace"
    assert current.json()["role"] == "owner"

    switched = session.post("/workspaces/switch", {"tenant_id": second["id"]})
    assert switched.json()["result"] == "success"
    assert switched.json()["new_tenant"]["id"] == second["id"]
    # The current workspace is kept on the server, so other sessions see it.
    other = login(server)
    current = call(server, method, "/workspaces/current", headers=other.headers())
    assert current.json()["id"] == second["id"]


def test_switch_to_a_foreign_workspace(fake_server: FakeDify) -> None:
    stranger = fake_server.add_account("stranger@example.com", "Str4nger-pass")
    session = login(fake_server)
    response = session.post(
        "/workspaces/switch", {"tenant_id": stranger.workspaces[0]["id"]}
    )
    assert error_code(response)[:2] == (403, "account_not_link_tenant")


def test_email_code_login_session_works(fake_server: FakeDify) -> None:
    session = login_with_code(fake_server)
    assert session.get("/account/profile").json()["email"] == "admin@example.com"
