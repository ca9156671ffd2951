"""Session renewal: ahead of expiry, after a 401, under the lock, and when it fails."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import replace
from typing import TYPE_CHECKING

import pytest

from dify_cli.client import ConsoleClient, Credentials
from dify_cli.sessions import SessionStore
from tests.conftest import REPO

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


def store(config_dir: Path) -> SessionStore:
    return SessionStore(config_dir / "sessions")


def test_renews_after_the_access_token_expired(
    fake_dify: FakeDifyFactory, dify: DifyRunner, config_dir: Path
) -> None:
    fake = fake_dify("modern", access_ttl=2)
    connect(dify, fake)
    old = store(config_dir).load("default")
    assert old is not None
    time.sleep(2.1)

    result = dify("token")
    assert result.exit_code == 0, result.output
    new = store(config_dir).load("default")
    assert new is not None
    assert result.stdout.strip() == new.access_token
    assert new.refresh_token != old.refresh_token
    assert fake.counts == {"POST /console/api/refresh-token": 1}


@pytest.mark.parametrize("generation", ["legacy", "cookie", "modern"])
def test_renews_a_minute_ahead_of_expiry(
    fake_dify: FakeDifyFactory, dify: DifyRunner, config_dir: Path, generation: str
) -> None:
    fake = fake_dify(generation, access_ttl=50)
    connect(dify, fake)
    old = store(config_dir).load("default")
    result = dify("status")
    assert result.exit_code == 0, result.output
    assert fake.counts == {
        "POST /console/api/refresh-token": 1,
        "GET /console/api/account/profile": 1,
    }
    new = store(config_dir).load("default")
    assert old is not None
    assert new is not None
    assert new.refresh_token != old.refresh_token


@pytest.mark.parametrize("generation", ["legacy", "cookie", "modern"])
def test_renews_once_after_token_has_expired_401(
    fake_dify: FakeDifyFactory, dify: DifyRunner, generation: str
) -> None:
    fake = fake_dify(generation)
    connect(dify, fake)
    fake.expire_access_tokens()
    result = dify("status")
    assert result.exit_code == 0, result.output
    assert fake.counts == {
        "GET /console/api/account/profile": 2,
        "POST /console/api/refresh-token": 1,
    }


def test_renews_after_the_csrf_refusal(
    fake_dify: FakeDifyFactory, dify: DifyRunner, config_dir: Path
) -> None:
    fake = fake_dify("cookie")
    connect(dify, fake)
    session = store(config_dir).load("default")
    assert session is not None
    store(config_dir).save("default", replace(session, csrf_token="stale"))
    result = dify("status")
    assert result.exit_code == 0, result.output
    assert fake.count("POST", "refresh-token") == 1


def test_session_that_cannot_be_renewed_is_kept(
    fake_dify: FakeDifyFactory, dify: DifyRunner, config_dir: Path
) -> None:
    fake = fake_dify("modern")
    connect(dify, fake)
    fake.refresh_tokens.revoke_latest(fake.account.id)
    fake.expire_access_tokens()
    before = store(config_dir).path_for("default").read_bytes()

    result = dify("status")
    assert result.exit_code == 4
    assert "session has expired" in result.stdout
    assert fake.count("POST", "refresh-token") == 1
    assert store(config_dir).path_for("default").read_bytes() == before

    token = dify("token")
    assert token.exit_code == 0  # the JWT itself has not reached its exp
    again = dify("connect", "--email", EMAIL, "--password-stdin", input=PASSWORD + "\n")
    assert again.exit_code == 0, again.output
    assert "Connected to" in again.stdout


def test_expired_without_refresh_token(
    fake_dify: FakeDifyFactory, dify: DifyRunner, config_dir: Path
) -> None:
    fake = fake_dify("legacy")
    connect(dify, fake)
    session = store(config_dir).load("default")
    assert session is not None
    expired = replace(session, refresh_token=None, access_expires_at=time.time() - 1)
    store(config_dir).save("default", expired)
    result = dify("token")
    assert result.exit_code == 4
    assert "Run `dify --profile default connect`" in result.stderr
    assert result.stdout == ""
    assert fake.counts == {}


def test_twenty_processes_share_one_renewal(
    fake_dify: FakeDifyFactory,
    dify: DifyRunner,
    config_dir: Path,
    env: dict[str, str],
) -> None:
    fake = fake_dify("modern")
    connect(dify, fake)
    fake.expire_access_tokens()

    full_env = {**os.environ, **env}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "dify_cli", "status", "--json"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=full_env,
            cwd=REPO,
        )
        for _ in range(20)
    ]
    outputs = [proc.communicate(timeout=60) for proc in procs]

    assert [proc.returncode for proc in procs] == [0] * 20, outputs
    assert all(json.loads(out)["connected"] for out, _ in outputs)
    assert fake.count("POST", "refresh-token") == 1

    # The stored refresh token is the live one: it renews again.
    session = store(config_dir).load("default")
    assert session is not None
    client = ConsoleClient(fake.url, version=fake.version)
    client.use(
        Credentials(
            session.access_token,
            session.refresh_token,
            session.csrf_token,
            dict(session.cookie_names),
        )
    )
    assert client.refresh().access_token


def test_session_for_another_server_is_never_used(
    fake_dify: FakeDifyFactory, dify: DifyRunner
) -> None:
    first = fake_dify("modern")
    second = fake_dify("modern")
    connect(dify, first)
    result = dify("status", extra_env={"DIFY_URL": second.url})
    assert result.exit_code == 4
    assert "stored session is for" in result.stdout
    assert first.counts == {}
    assert second.counts == {}
    token = dify("token", extra_env={"DIFY_URL": second.url})
    assert token.exit_code == 4
    assert token.stdout == ""
