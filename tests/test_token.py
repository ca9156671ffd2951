"""`dify token`: the one command that prints a secret."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import requests

from dify_cli.sessions import SessionStore

if TYPE_CHECKING:
    from pathlib import Path

    from tests.conftest import DifyRunner
    from tests.fake_dify import FakeDify
    from tests.fake_dify.fixtures import FakeDifyFactory

EMAIL = "admin@example.com"
PASSWORD = "Passw0rd!Example"


def connect(dify: DifyRunner, fake: FakeDify) -> None:
    result = dify(
        "connect", "--server", fake.url, "--email", EMAIL, "--password-stdin",
        input=PASSWORD + "\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    fake.reset_counts()


def test_prints_the_access_token_without_a_request(
    fake_dify: FakeDifyFactory,
    dify_proc: DifyRunner,
    dify: DifyRunner,
    config_dir: Path,
) -> None:
    fake = fake_dify("legacy")
    connect(dify, fake)
    result = dify_proc("token")
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    session = SessionStore(config_dir / "sessions").load("default")
    assert session is not None
    assert token == session.access_token
    assert result.stderr == ""
    assert fake.counts == {}
    # Usable as a script would use it.
    answer = requests.get(
        f"{fake.url}/console/api/account/profile",
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )
    assert answer.json()["email"] == EMAIL


def test_csrf_token_for_cookie_servers(
    fake_dify: FakeDifyFactory, dify: DifyRunner
) -> None:
    fake = fake_dify("modern")
    connect(dify, fake)
    access = dify("token").stdout.strip()
    csrf = dify("token", "--csrf").stdout.strip()
    answer = requests.get(
        f"{fake.url}/console/api/account/profile",
        headers={
            "Cookie": f"access_token={access}; csrf_token={csrf}",
            "X-CSRF-Token": csrf,
        },
        timeout=5,
    )
    assert answer.status_code == 200


def test_csrf_on_a_legacy_server(fake_dify: FakeDifyFactory, dify: DifyRunner) -> None:
    fake = fake_dify("legacy")
    connect(dify, fake)
    result = dify("token", "--csrf")
    assert result.exit_code == 2
    assert "uses no CSRF token" in result.stderr
    assert result.stdout == ""


def test_json(fake_dify: FakeDifyFactory, dify: DifyRunner) -> None:
    fake = fake_dify("cookie")
    connect(dify, fake)
    data = json.loads(dify("token", "--json").stdout)
    assert data["access_token"].startswith("eyJ")
    assert data["expires_at"] > 0


def test_not_connected(dify: DifyRunner) -> None:
    result = dify("token")
    assert result.exit_code == 4
    assert result.stdout == ""
    assert "is not connected" in result.stderr
