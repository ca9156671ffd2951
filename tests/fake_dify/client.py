"""A bare console client for tests that need a logged-in session on the fake.

It speaks each generation's contract directly (no cookie jar, headers built
by hand) so tests can also send exactly the wrong thing.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import requests

from tests.fake_dify.accounts import DEFAULT_EMAIL, DEFAULT_PASSWORD

if TYPE_CHECKING:
    from tests.fake_dify.server import FakeDify


def encode(secret: str) -> str:
    return base64.b64encode(secret.encode()).decode()


def call(
    server: FakeDify,
    method: str,
    path: str,
    *,
    json: Any = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10,
) -> requests.Response:
    """One request to /console/api`path`, trusting the fake's CA on HTTPS."""
    return requests.request(
        method,
        f"{server.url}/console/api{path}",
        json=json,
        headers=headers or {},
        verify=server.ca_bundle or True,
        timeout=timeout,
    )


def set_cookies(response: requests.Response) -> dict[str, str]:
    """The cookies a response sets, by exact name (`__Host-` kept)."""
    raw = response.raw.headers.getlist("Set-Cookie") if response.raw else []
    jar = {}
    for header in raw:
        name, _, rest = header.partition("=")
        jar[name] = rest.partition(";")[0]
    return jar


def set_cookie_headers(response: requests.Response) -> list[str]:
    return list(response.raw.headers.getlist("Set-Cookie")) if response.raw else []


def post_login(
    server: FakeDify, email: str = DEFAULT_EMAIL, password: str = DEFAULT_PASSWORD
) -> requests.Response:
    """POST /login with the password encoded as this server expects."""
    if server.behaviour.encoded_secrets:
        password = encode(password)
    return call(server, "POST", "/login", json={"email": email, "password": password})


@dataclass
class Session:
    """The three secrets of one login, and requests made with them."""

    server: FakeDify
    access_token: str
    refresh_token: str
    csrf_token: str | None = None

    @classmethod
    def from_response(cls, server: FakeDify, response: requests.Response) -> Session:
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["result"] == "success", body
        if not server.behaviour.cookies:
            data = body["data"]
            return cls(server, data["access_token"], data["refresh_token"])
        jar = set_cookies(response)
        names = {server.cookie_name(n): n for n in ("access_token", "refresh_token")}
        names[server.cookie_name("csrf_token")] = "csrf_token"
        values = {names[k]: v for k, v in jar.items() if k in names}
        return cls(
            server,
            values["access_token"],
            values["refresh_token"],
            values["csrf_token"],
        )

    def headers(self) -> dict[str, str]:
        """What a correct client sends on an authenticated request."""
        if not self.server.behaviour.cookies:
            return {"Authorization": f"Bearer {self.access_token}"}
        access = self.server.cookie_name("access_token")
        csrf = self.server.cookie_name("csrf_token")
        assert self.csrf_token is not None
        return {
            "Cookie": f"{access}={self.access_token}; {csrf}={self.csrf_token}",
            "X-CSRF-Token": self.csrf_token,
        }

    def get(self, path: str) -> requests.Response:
        return call(self.server, "GET", path, headers=self.headers())

    def post(self, path: str, json: Any = None) -> requests.Response:
        return call(self.server, "POST", path, json=json, headers=self.headers())

    def refresh(self) -> requests.Response:
        """Trade the refresh token; on success keep the new secrets."""
        if self.server.behaviour.cookies:
            name = self.server.cookie_name("refresh_token")
            headers = {"Cookie": f"{name}={self.refresh_token}"}
            response = call(self.server, "POST", "/refresh-token", headers=headers)
        else:
            body = {"refresh_token": self.refresh_token}
            response = call(self.server, "POST", "/refresh-token", json=body)
        if response.status_code == 200:
            fresh = Session.from_response(self.server, response)
            self.access_token = fresh.access_token
            self.refresh_token = fresh.refresh_token
            self.csrf_token = fresh.csrf_token
        return response

    def logout(self) -> requests.Response:
        method = self.server.behaviour.logout_method
        return call(self.server, method, "/logout", headers=self.headers())


def login(
    server: FakeDify, email: str = DEFAULT_EMAIL, password: str = DEFAULT_PASSWORD
) -> Session:
    return Session.from_response(server, post_login(server, email, password))


def login_with_code(server: FakeDify, email: str = DEFAULT_EMAIL) -> Session:
    sent = call(server, "POST", "/email-code-login", json={"email": email})
    assert sent.status_code == 200, sent.text
    code = server.last_code(email)
    if server.behaviour.encoded_secrets:
        code = encode(code)
    body = {"email": email, "code": code, "token": sent.json()["data"]}
    response = call(server, "POST", "/email-code-login/validity", json=body)
    return Session.from_response(server, response)
