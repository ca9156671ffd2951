"""What one step of a command writes, the next command can read back.

A login that reports success leaves a session that loads; a command that
fails part-way leaves the profiles and sessions as they were.
"""

from __future__ import annotations

import json
import sys
import time
from typing import TYPE_CHECKING

import pytest

from dify_cli.client import ConsoleClient
from dify_cli.sessions import SessionStore
from tests.fake_dify.tokens import ACCESS_SUBJECT, sign_jwt

if TYPE_CHECKING:
    from pathlib import Path

    from tests.conftest import DifyRunner, Result
    from tests.fake_dify import FakeDify
    from tests.fake_dify.fixtures import FakeDifyFactory

EMAIL = "admin@example.com"
PASSWORD = "Passw0rd!Example"


def sessions(config_dir: Path) -> SessionStore:
    return SessionStore(config_dir / "sessions")


def legacy_access_token(fake: FakeDify) -> str:
    client = ConsoleClient(fake.url)
    client.probe()
    token = client.login_password(EMAIL, PASSWORD).access_token
    client.close()
    fake.reset_counts()
    return str(token)


# -- times a session cannot hold ----------------------------------------------


@pytest.mark.parametrize(
    "expires_at", ["1796351408000", "NaN", "1e300", "-5", "Infinity"]
)
def test_an_exec_expiry_that_cannot_be_kept_is_unknown(
    fake_dify: FakeDifyFactory,
    dify: DifyRunner,
    config_dir: Path,
    tmp_path: Path,
    expires_at: str,
) -> None:
    fake = fake_dify("legacy")
    token = legacy_access_token(fake)
    helper = tmp_path / "helper.py"
    helper.write_text(
        f'print(\'{{"access_token": "{token}", "expires_at": {expires_at}}}\')\n',
        encoding="utf-8",
    )
    result = dify(
        "connect", "--server", fake.url, "--method", "exec",
        "--auth-command", f"{sys.executable} {helper}",
    )  # fmt: skip
    assert result.exit_code == 0, result.output

    session = sessions(config_dir).load("default")
    assert session is not None
    assert session.access_token == token
    # The token's own exp is the expiry now.
    assert session.access_expires_at is not None
    assert session.access_expires_at < time.time() + 86400
    assert dify("status").exit_code == 0


def test_a_token_whose_exp_cannot_be_kept_still_connects(
    fake_dify: FakeDifyFactory, dify: DifyRunner, config_dir: Path
) -> None:
    fake = fake_dify("legacy")
    # The server's own token for the account, re-signed with a far-off exp.
    claims = json.loads(_payload(legacy_access_token(fake)))
    assert claims["sub"] == ACCESS_SUBJECT
    token = sign_jwt({**claims, "exp": 10**20}, fake.issuer.key)
    result = dify(
        "connect", "--server", fake.url, "--method", "token",
        extra_env={"DIFY_ACCESS_TOKEN": token},
    )  # fmt: skip
    assert result.exit_code == 0, result.output

    session = sessions(config_dir).load("default")
    assert session is not None
    assert session.access_token == token
    assert session.access_expires_at is None
    assert dify("status").exit_code == 0


def _payload(token: str) -> str:
    import base64

    part = token.split(".")[1]
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)).decode()


# -- a login whose profile cannot be saved -------------------------------------


def password_connect(dify: DifyRunner, fake: FakeDify, *profile: str) -> Result:
    return dify(
        *profile, "connect", "--server", fake.url, "--email", EMAIL,
        "--password-stdin", input=PASSWORD + "\n",
    )  # fmt: skip


def test_no_login_when_the_profile_cannot_be_saved(
    fake_dify: FakeDifyFactory, dify: DifyRunner, config_dir: Path
) -> None:
    old, new = fake_dify("legacy"), fake_dify("legacy")
    assert password_connect(dify, old).exit_code == 0
    before = sessions(config_dir).path_for("default").read_bytes()
    profiles = (config_dir / "profiles.toml").read_bytes()
    # A folder where the lock file goes stops even root from editing the file.
    (config_dir / "profiles.toml.lock").unlink()
    (config_dir / "profiles.toml.lock").mkdir()
    new.reset_counts()

    result = password_connect(dify, new)
    assert result.exit_code == 3, result.output
    assert result.stderr.count("\n") == 1
    assert "Cannot save profiles in" in result.stderr
    assert "Traceback" not in result.output
    assert new.counts == {}
    assert sessions(config_dir).path_for("default").read_bytes() == before
    assert (config_dir / "profiles.toml").read_bytes() == profiles
    assert dify("status").exit_code == 0


def test_no_save_logs_in_though_the_profile_cannot_be_saved(
    fake_dify: FakeDifyFactory, dify: DifyRunner, config_dir: Path
) -> None:
    fake = fake_dify("legacy")
    config_dir.mkdir(parents=True)
    (config_dir / "profiles.toml.lock").mkdir()
    result = dify(
        "connect", "--no-save", "--server", fake.url, "--email", EMAIL,
        "--password-stdin", input=PASSWORD + "\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output


# -- commands of several steps -------------------------------------------------


@pytest.mark.parametrize(
    ("args", "locked"),
    [(["profile", "rename", "m", "n"], "m"), (["profile", "remove", "m"], "m")],
)
def test_a_session_that_cannot_change_leaves_the_profile_alone(
    fake_dify: FakeDifyFactory,
    dify: DifyRunner,
    config_dir: Path,
    args: list[str],
    locked: str,
) -> None:
    fake = fake_dify("legacy")
    assert password_connect(dify, fake, "-p", "m").exit_code == 0
    profiles = (config_dir / "profiles.toml").read_bytes()
    session = sessions(config_dir).path_for("m").read_bytes()
    # A folder where the session's lock file goes stops even root.
    lock = config_dir / "sessions" / f"{locked}.lock"
    lock.unlink(missing_ok=True)
    lock.mkdir()

    result = dify(*args)
    assert result.exit_code == 3, result.output
    assert result.stderr.count("\n") == 1
    assert (config_dir / "profiles.toml").read_bytes() == profiles
    assert sessions(config_dir).path_for("m").read_bytes() == session
