"""`dify disconnect`: server logout per generation; the local session always goes."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from dify_cli.sessions import SessionStore
from tests.fake_dify import Fault

if TYPE_CHECKING:
    from pathlib import Path

    from tests.conftest import DifyRunner
    from tests.fake_dify import FakeDify
    from tests.fake_dify.fixtures import FakeDifyFactory

EMAIL = "admin@example.com"
PASSWORD = "Passw0rd!Example"


def connect(dify: DifyRunner, fake: FakeDify, *profile: str) -> None:
    result = dify(
        *profile, "connect", "--server", fake.url, "--email", EMAIL,
        "--password-stdin", input=PASSWORD + "\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    fake.reset_counts()


def store(config_dir: Path) -> SessionStore:
    return SessionStore(config_dir / "sessions")


@pytest.mark.parametrize(
    ("generation", "method"),
    [("legacy", "GET"), ("cookie", "POST"), ("modern", "POST")],
)
def test_logs_out_on_the_server(
    fake_dify: FakeDifyFactory,
    dify: DifyRunner,
    config_dir: Path,
    generation: str,
    method: str,
) -> None:
    fake = fake_dify(generation)
    connect(dify, fake)
    session = store(config_dir).load("default")
    assert session is not None
    result = dify("disconnect")
    assert result.exit_code == 0, result.output
    assert f"Disconnected profile default from {fake.url}" in result.stdout
    assert fake.counts == {f"{method} /console/api/logout": 1}
    assert store(config_dir).load("default") is None
    assert not fake.refresh_tokens.is_live(str(session.refresh_token))
    assert dify("status").exit_code == 4


def test_unreachable_server_still_deletes(
    fake_dify: FakeDifyFactory,
    dify_proc: DifyRunner,
    dify: DifyRunner,
    config_dir: Path,
) -> None:
    fake = fake_dify("modern")
    connect(dify, fake)
    fake.fail_next(1, Fault.RESET)
    result = dify_proc("disconnect")
    assert result.exit_code == 0, result.output
    assert "warning: could not log out" in result.stderr
    assert "deleted anyway" in result.stderr
    assert store(config_dir).load("default") is None


def test_rejected_logout_still_deletes(
    fake_dify: FakeDifyFactory, dify: DifyRunner, config_dir: Path
) -> None:
    fake = fake_dify("legacy")
    connect(dify, fake)
    fake.refresh_tokens.revoke_latest(fake.account.id)
    fake.expire_access_tokens()
    result = dify("disconnect", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["server_logout"] is False
    assert "could not log out" in data["warning"]
    assert store(config_dir).load("default") is None


def test_expired_access_token_is_renewed_to_log_out(
    fake_dify: FakeDifyFactory, dify: DifyRunner
) -> None:
    fake = fake_dify("modern", access_ttl=30)
    connect(dify, fake)
    result = dify("disconnect")
    assert result.exit_code == 0, result.output
    assert fake.count("POST", "refresh-token") == 1
    assert fake.count("POST", "logout") == 1


def test_nothing_to_disconnect(dify: DifyRunner) -> None:
    result = dify("disconnect")
    assert result.exit_code == 0
    assert "had no session" in result.stdout


def test_pending_code_is_dropped_without_a_request(
    fake_dify: FakeDifyFactory, dify: DifyRunner, config_dir: Path
) -> None:
    fake = fake_dify("modern")
    sent = dify(
        "connect", "--server", fake.url, "--method", "code", "--email", EMAIL,
        "--send-only",
    )  # fmt: skip
    assert sent.exit_code == 0, sent.output
    fake.reset_counts()
    assert dify("disconnect").exit_code == 0
    assert fake.counts == {}
    assert store(config_dir).load("default") is None


def test_all_profiles(
    fake_dify: FakeDifyFactory, dify: DifyRunner, config_dir: Path
) -> None:
    first = fake_dify("legacy")
    second = fake_dify("cookie")
    connect(dify, first, "--profile", "a")
    connect(dify, second, "--profile", "b")
    result = dify("disconnect", "--all")
    assert result.exit_code == 0, result.output
    assert first.count("GET", "logout") == 1
    assert second.count("POST", "logout") == 1
    assert store(config_dir).load("a") is None
    assert store(config_dir).load("b") is None


def test_all_covers_sessions_without_a_profile(
    fake_dify: FakeDifyFactory, dify: DifyRunner, config_dir: Path
) -> None:
    fake = fake_dify("modern")
    connect(dify, fake, "--profile", "saved")
    scratch = dify(
        "--profile", "Scratch", "connect", "--no-save", "--server", fake.url,
        "--email", EMAIL, "--password-stdin", input=PASSWORD + "\n",
    )  # fmt: skip
    assert scratch.exit_code == 0, scratch.output
    assert store(config_dir).path_for("Scratch").exists()
    result = dify("disconnect", "--all")
    assert result.exit_code == 0, result.output
    assert "Disconnected profile Scratch" in result.stdout
    assert not store(config_dir).path_for("Scratch").exists()
    assert not store(config_dir).path_for("saved").exists()


def test_a_session_for_another_server_is_deleted_without_being_sent(
    fake_dify: FakeDifyFactory, dify: DifyRunner, config_dir: Path
) -> None:
    old = fake_dify("modern")
    new = fake_dify("modern")
    connect(dify, old)
    assert dify("profile", "set", "default", "server", new.url).exit_code == 0
    result = dify("disconnect")
    assert result.exit_code == 0, result.output
    assert result.stderr == (
        f"warning: the session is for {old.url}, which the profile no longer "
        "names; it is deleted here without logging out there.\n"
    )
    assert old.counts == {}
    assert new.counts == {}
    assert store(config_dir).load("default") is None


@pytest.mark.parametrize("text", ["{not json", '{"server": 1}', "\udcff"])
def test_deletes_an_unreadable_session_without_logging_out(
    fake_dify: FakeDifyFactory, dify: DifyRunner, config_dir: Path, text: str
) -> None:
    fake = fake_dify("modern")
    connect(dify, fake)
    path = store(config_dir).path_for("default")
    path.write_text(text, encoding="utf-8", errors="surrogateescape")
    result = dify("disconnect")
    assert result.exit_code == 0, result.output
    assert "Deleted the unreadable session of profile default." in result.stdout
    assert not path.exists()
    assert fake.counts == {}


def test_all_deletes_unreadable_sessions(
    fake_dify: FakeDifyFactory, dify: DifyRunner, config_dir: Path
) -> None:
    fake = fake_dify("modern")
    connect(dify, fake, "-p", "a")
    connect(dify, fake, "-p", "b")
    store(config_dir).path_for("b").write_text("damaged", encoding="utf-8")
    store(config_dir).path_for("loose").write_text("[]", encoding="utf-8")
    result = dify("--json", "disconnect", "--all")
    assert result.exit_code == 0, result.output
    items = {item["profile"]: item for item in json.loads(result.stdout)}
    assert items["a"]["server_logout"] is True
    assert items["b"]["unreadable"] is True
    assert items["loose"]["unreadable"] is True
    assert store(config_dir).profiles() == []
    assert fake.counts == {"POST /console/api/logout": 1}


def test_all_goes_on_past_a_profile_that_cannot_be_used(
    fake_dify: FakeDifyFactory, dify: DifyRunner, config_dir: Path
) -> None:
    fake = fake_dify("modern")
    for name in ("a", "b", "c"):
        connect(dify, fake, "--profile", name)
    profiles = config_dir / "profiles.toml"
    profiles.write_text(
        profiles.read_text().replace("[profiles.b]\n", '[profiles.b]\ntimeout = "5s"\n')
    )
    sessions = config_dir / "sessions"
    # A stray session under a name no profile can have.
    (sessions / "a%20b.json").write_bytes((sessions / "c.json").read_bytes())

    result = dify("disconnect", "--all")
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert "warning: profile b cannot be used" in result.stderr
    assert "warning: profile a b cannot be used" in result.stderr
    assert sorted(path.name for path in sessions.glob("*.json")) == []
    # Only the usable profiles were logged out on the server.
    assert fake.count("POST", "logout") == 2


def test_a_profile_that_cannot_be_used_still_loses_its_session(
    fake_dify: FakeDifyFactory, dify: DifyRunner, config_dir: Path
) -> None:
    fake = fake_dify("modern")
    connect(dify, fake, "--profile", "b")
    profiles = config_dir / "profiles.toml"
    profiles.write_text(
        profiles.read_text().replace("[profiles.b]\n", '[profiles.b]\ntimeout = "5s"\n')
    )
    result = dify("-p", "b", "disconnect")
    assert result.exit_code == 0, result.output
    assert "warning: profile b cannot be used" in result.stderr
    assert store(config_dir).load("b") is None
    assert not store(config_dir).path_for("b").exists()
    assert fake.counts == {}

    typo = dify("-p", "bb", "disconnect")
    assert typo.exit_code == 3
    assert "Did you mean 'b'" in typo.stderr
