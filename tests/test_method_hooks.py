"""What a plugin can add beyond a login: headers, renewal, commands.

An auth method's own request headers, renewal without a refresh token, and
the commands a plugin adds, all through the real CLI.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import click
import pytest

from dify_cli import plugin_manager
from dify_cli.auth import AuthMethod, AuthOption, LoginContext
from dify_cli.errors import AuthError
from dify_cli.hookspecs import hookimpl
from dify_cli.sessions import Session, SessionStore

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping
    from pathlib import Path

    from tests.conftest import DifyRunner
    from tests.fake_dify.fixtures import FakeDifyFactory

EMAIL = "admin@example.com"
PASSWORD = "Passw0rd!Example"


class Gateway:
    """A method that logs in with a password and adds a gateway header, and
    that can renew by logging in again (keeping no refresh token)."""

    def __init__(self) -> None:
        self.renewals = 0
        self.fail_renewal = False

    def login(self, ctx: LoginContext) -> Session:
        ctx.client.login_password(EMAIL, PASSWORD)
        session = ctx.new_session(extra={"gateway_secret": "gw-secret-1234"})
        return replace(session, refresh_token=None)

    def renew(self, ctx: LoginContext) -> Session:
        assert ctx.previous is not None
        assert not ctx.can_prompt
        self.renewals += 1
        if self.fail_renewal:
            raise AuthError("The gateway is closed for the night.")
        return self.login(ctx)

    @staticmethod
    def headers(session: Session, options: Mapping[str, Any]) -> dict[str, str]:
        return {
            "X-Gateway": session.extra["gateway_secret"],
            "X-Gateway-Zone": str(options["zone"] or "none"),
        }

    @hookimpl
    def register_auth_methods(self, register: Callable[[AuthMethod], None]) -> None:
        register(
            AuthMethod(
                "gateway",
                "Password behind a gateway.",
                login=self.login,
                renew=self.renew,
                request_headers=self.headers,
                needs_email=False,
                options=(
                    AuthOption("zone", "Gateway zone.", profile_key=True,
                               env=("GATEWAY_ZONE",)),
                ),
            )
        )  # fmt: skip


@pytest.fixture
def gateway(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Gateway]:
    monkeypatch.setenv("DIFY_CLI_PLUGINS", "")
    plugin_manager.reset()
    plugin = Gateway()
    plugin_manager.load_plugin(plugin, "gateway")
    yield plugin
    plugin_manager.reset()


def connect(dify: DifyRunner, url: str) -> None:
    result = dify(
        "connect", "--server", url, "--method", "gateway",
        extra_env={"GATEWAY_ZONE": "eu"},
    )  # fmt: skip
    assert result.exit_code == 0, result.output


def test_method_headers_go_with_the_tokens(
    gateway: Gateway, fake_dify: FakeDifyFactory, dify: DifyRunner
) -> None:
    fake = fake_dify("modern")
    connect(dify, fake.url)
    fake.reset_counts()

    assert dify("status", extra_env={"GATEWAY_ZONE": "eu"}).exit_code == 0

    request = fake.requests[-1]
    assert request.header("X-Gateway") == "gw-secret-1234"
    assert request.header("X-Gateway-Zone") == "eu"
    assert request.header("X-CSRF-Token")
    assert "access_token=" in str(request.header("Cookie"))


def test_debug_logs_mask_the_method_headers(
    gateway: Gateway, fake_dify: FakeDifyFactory, dify: DifyRunner
) -> None:
    fake = fake_dify("modern")
    connect(dify, fake.url)

    result = dify("--debug", "status")

    assert "X-Gateway" in result.stderr
    assert "gw-secret-1234" not in result.output


def test_an_expired_session_renews_through_the_method(
    gateway: Gateway, fake_dify: FakeDifyFactory, dify: DifyRunner, config_dir: Path
) -> None:
    fake = fake_dify("modern")
    connect(dify, fake.url)
    fake.expire_access_tokens()

    status = dify("status", "--json")

    assert status.exit_code == 0, status.output
    assert json.loads(status.stdout)["renewed"] is True
    assert gateway.renewals == 1
    stored = SessionStore(config_dir / "sessions").load("default")
    assert stored is not None
    assert stored.extra == {"gateway_secret": "gw-secret-1234"}
    assert stored.account["email"] == EMAIL


def test_a_failed_renewal_ends_the_session(
    gateway: Gateway, fake_dify: FakeDifyFactory, dify: DifyRunner
) -> None:
    fake = fake_dify("modern")
    connect(dify, fake.url)
    fake.expire_access_tokens()
    gateway.fail_renewal = True

    status = dify("status")

    assert status.exit_code == 4
    assert "closed for the night" in status.stdout


class Commands:
    """Two plugins' worth of commands, to see names settled."""

    def __init__(self, name: str) -> None:
        self.name = name

    @hookimpl
    def register_commands(self, cli: click.Group) -> None:
        @cli.command("shared")
        def shared() -> None:
            click.echo(f"shared from {self.name}")

        @cli.command(f"only-{self.name}")
        def only() -> None:
            click.echo(self.name)


def test_the_first_plugin_keeps_a_command_name(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, dify: DifyRunner
) -> None:
    monkeypatch.setenv("DIFY_CLI_PLUGINS", "")
    plugin_manager.reset()
    try:
        plugin_manager.load_plugin(Commands("one"), "one")
        plugin_manager.load_plugin(Commands("two"), "two")

        assert dify("shared").stdout == "shared from one\n"
        assert dify("only-two").stdout == "two\n"
        listed = {r["name"]: r for r in json.loads(dify("plugins", "--json").stdout)}
        assert sorted(listed["one"]["commands"]) == ["only-one", "shared"]
        assert listed["two"]["commands"] == ["only-two"]
        assert (
            "adds command 'shared', which plugin 'one' already added"
            in (listed["two"]["error"])
        )
    finally:
        plugin_manager.reset()

    # Loaded afresh without them, the root group forgets their commands.
    assert dify("shared").exit_code == 2
