"""No secret ever shows: not in profiles.toml, not in output, not in --debug logs."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from dify_cli.client import ConsoleClient
from dify_cli.sessions import SessionStore
from tests.conftest import Result

if TYPE_CHECKING:
    from pathlib import Path

    from tests.conftest import DifyRunner
    from tests.fake_dify import FakeDify
    from tests.fake_dify.fixtures import FakeDifyFactory

EMAIL = "admin@example.com"
PASSWORD = "Passw0rd!Example"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


class Recorder:
    """Runs `dify --debug ...` and gathers every output and every secret seen."""

    def __init__(self, run: DifyRunner, fake: FakeDify, config_dir: Path) -> None:
        self.run = run
        self.fake = fake
        self.store = SessionStore(config_dir / "sessions")
        self.outputs: list[str] = []
        self.secrets: set[str] = {PASSWORD, b64(PASSWORD)}

    def __call__(self, *args: str, **kwargs: object) -> Result:
        result = self.run("--debug", *args, **kwargs)  # type: ignore[arg-type]
        self.outputs.append(result.stdout + result.stderr)
        self.collect()
        return result

    def collect(self) -> None:
        session = self.store.load("default")
        if session is not None:
            for value in (
                session.access_token,
                session.refresh_token,
                session.csrf_token,
                session.pending.get("token"),
            ):
                if value and len(value) >= 6:
                    self.secrets.add(value)
        for mail in self.fake.mailbox:
            self.secrets |= {mail.code, b64(mail.code), mail.token}

    def check(self, config_dir: Path) -> None:
        everything = "\n".join(self.outputs)
        profiles = config_dir / "profiles.toml"
        if profiles.exists():
            everything += profiles.read_text()
        leaked = [secret for secret in self.secrets if secret in everything]
        assert leaked == []


@pytest.mark.parametrize(
    "setup",
    # Bearer tokens in a body, and __Host- cookies with a Base64 password: the
    # cookie generation in between adds nothing these two do not cover.
    [{"generation": "legacy"}, {"generation": "modern", "https": True}],
    ids=["legacy", "modern-https"],
)
def test_no_secret_in_files_output_or_debug_logs(
    fake_dify: FakeDifyFactory,
    dify_proc: DifyRunner,
    config_dir: Path,
    setup: dict[str, object],
) -> None:
    fake = fake_dify(**setup)
    record = Recorder(dify_proc, fake, config_dir)
    server = ["--server", fake.url]
    if fake.https:
        server += ["--ca-bundle", str(fake.ca_bundle)]

    def ok(*args: str, **kwargs: object) -> None:
        result = record(*args, **kwargs)
        assert result.exit_code == 0, result.output

    password = ["--email", EMAIL, "--password-stdin"]
    ok("connect", *server, *password, input=PASSWORD + "\n")
    ok("connect", "--force", extra_env={"DIFY_PASSWORD": PASSWORD})
    ok("connect", "--force", "--password", PASSWORD)
    ok("status")
    fake.expire_access_tokens()
    ok("status", "--json")

    ok("connect", "--method", "code", "--send-only", "--force")
    ok("connect", "--method", "code", "--code", fake.last_code(EMAIL))
    wrong = record("connect", "--method", "code", "--force", "--code", "000000")
    assert wrong.exit_code == 2

    browser = ConsoleClient(fake.url, ca_bundle=fake.ca_bundle)
    browser.probe()
    creds = browser.login_password(EMAIL, PASSWORD)
    pasted = {"DIFY_ACCESS_TOKEN": str(creds.access_token)}
    if creds.csrf_token:
        pasted["DIFY_CSRF_TOKEN"] = creds.csrf_token
    pasted["DIFY_REFRESH_TOKEN"] = str(creds.refresh_token)
    record.secrets |= set(pasted.values())
    ok("connect", "--method", "token", "--force", extra_env=pasted)
    fake.expire_access_tokens()
    ok("status")

    bad = record(
        "connect", "--method", "password", "--force", "--password-stdin",
        input="Wr0ng-Secret!\n",
    )  # fmt: skip
    assert bad.exit_code == 4
    record.secrets |= {"Wr0ng-Secret!", b64("Wr0ng-Secret!")}
    ok("disconnect")

    debug_log = "\n".join(record.outputs)
    assert "debug: dify_cli.client: POST" in debug_log
    assert "account/profile" in debug_log
    record.check(config_dir)


def test_token_is_the_only_command_that_prints_one(
    fake_dify: FakeDifyFactory, dify_proc: DifyRunner, config_dir: Path
) -> None:
    fake = fake_dify("modern")
    record = Recorder(dify_proc, fake, config_dir)
    first = record(
        "connect", "--server", fake.url, "--email", EMAIL, "--password-stdin",
        input=PASSWORD + "\n",
    )  # fmt: skip
    assert first.exit_code == 0
    record.check(config_dir)
    result = dify_proc("--debug", "token")
    session = record.store.load("default")
    assert session is not None
    assert result.stdout.strip() == session.access_token
    assert str(session.access_token) not in result.stderr


def test_a_secret_written_into_profiles_toml_by_hand_is_never_shown(
    dify: DifyRunner, config_dir: Path
) -> None:
    config_dir.mkdir(parents=True)
    path = config_dir / "profiles.toml"
    path.write_text('[profiles.x]\nserver = "http://a.example"\npassword = "hunter2"\n')
    warning = (
        "warning: profile x holds 'password', which looks like a secret and is "
        f"never used: remove it from {path}.\n"
    )
    for args in (
        ["profile", "show", "x"],
        ["--json", "profile", "show", "x"],
        ["--json", "profile", "list"],
        ["-p", "x", "profile", "show", "--resolved"],
        ["-p", "x", "status", "--offline", "--json"],
    ):
        result = dify(*args)
        assert "hunter2" not in result.output, args
        assert result.stderr in ("", warning), args
    assert dify("profile", "show", "x").stderr == warning


def test_profile_set_says_why_a_secret_key_is_refused(
    dify: DifyRunner, config_dir: Path
) -> None:
    assert dify("profile", "add", "x", "--server", "http://a.example").exit_code == 0
    before = (config_dir / "profiles.toml").read_bytes()
    result = dify("profile", "set", "x", "password", "hunter2")
    assert result.exit_code == 3
    assert result.stderr.startswith(
        "Error: 'password' looks like a secret, and profiles.toml holds no secrets."
    )
    assert "hunter2" not in result.output
    assert (config_dir / "profiles.toml").read_bytes() == before


UNDECODABLE = "abc\udcffdef"  # what os.environ makes of the bytes abc\xffdef


def _undecodable_refused(result: Result) -> None:
    assert result.exit_code == 2, result.output
    # Under --debug the error's traceback comes first, so read the last line.
    line = result.stderr.splitlines()[-1]
    assert line.startswith("Error: ")
    assert "not valid text" in line
    assert "UnicodeEncodeError" not in result.stderr
    assert "abc" not in result.output


@pytest.mark.parametrize("generation", ["legacy", "modern"])
@pytest.mark.parametrize(
    ("method", "secret"),
    [
        ("password", {"DIFY_PASSWORD": UNDECODABLE}),
        ("token", {"DIFY_ACCESS_TOKEN": UNDECODABLE}),
    ],
)
def test_a_secret_that_is_not_text_is_refused_in_one_line(
    fake_dify: FakeDifyFactory,
    dify_proc: DifyRunner,
    generation: str,
    method: str,
    secret: dict[str, str],
) -> None:
    fake = fake_dify(generation)
    for debug in ((), ("--debug",)):
        result = dify_proc(
            *debug, "connect", "--server", fake.url, "--email", EMAIL,
            "--method", method, extra_env=secret,
        )  # fmt: skip
        _undecodable_refused(result)
        if not debug:
            assert result.stderr.count("\n") == 1
    assert not [sent for sent in fake.requests if "login" in sent.path]


def test_a_password_on_stdin_that_is_not_text_is_refused(
    fake_dify: FakeDifyFactory, env: dict[str, str]
) -> None:
    fake = fake_dify("modern")
    proc = subprocess.run(
        [sys.executable, "-m", "dify_cli", "connect", "--server", fake.url,
         "--email", EMAIL, "--password-stdin"],
        input=b"abc\xffdef\n", capture_output=True, check=False,
        env={**os.environ, **env},
    )  # fmt: skip
    stderr = proc.stderr.decode("utf-8", "replace")
    _undecodable_refused(Result(proc.returncode, "", stderr))


def test_a_field_that_is_not_text_is_not_sent(
    fake_dify: FakeDifyFactory, dify_proc: DifyRunner
) -> None:
    fake = fake_dify("modern")
    connected = dify_proc(
        "connect", "--server", fake.url, "--email", EMAIL, "--password-stdin",
        input=PASSWORD + "\n",
    )  # fmt: skip
    assert connected.exit_code == 0, connected.output
    fake.reset_counts()

    result = dify_proc("api", "workspaces/switch", "-f", f"tenant_id={UNDECODABLE}")

    _undecodable_refused(result)
    assert fake.requests == []


def test_nested_or_unusual_secrets_and_url_passwords_in_profiles_toml_are_masked(
    dify: DifyRunner, config_dir: Path
) -> None:
    config_dir.mkdir(parents=True)
    (config_dir / "profiles.toml").write_text(
        "[profiles.s]\n"
        'server = "http://bob:S3CRETPW@127.0.0.1:18801"\n'
        'refresh-token = "LEAK1"\nadmin_key = "LEAK2"\npwd = "LEAK3"\n'
        'session = "LEAK4"\nextra = { token = "LEAK5" }\n'
        'list = [{ password = "LEAK6" }]\n'
        '[profiles.s.creds]\npassword = "LEAK7"\n'
    )
    for args in (
        ["profile", "list"],
        ["--json", "profile", "list"],
        ["profile", "show", "s"],
        ["--json", "profile", "show", "s"],
    ):
        result = dify(*args)
        assert result.exit_code == 0, result.output
        assert "S3CRETPW" not in result.output, args
        assert "LEAK" not in result.output, args
    shown = dify("profile", "show", "s")
    assert 'server = "http://***@127.0.0.1:18801"' in shown.stdout
    assert "a user name or password in 'server'" in shown.stderr
    assert "'creds.password'" in shown.stderr
