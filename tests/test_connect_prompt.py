"""`dify connect` at a real terminal: prompts, hidden input, and Ctrl-C."""

from __future__ import annotations

import contextlib
import os
import select
import subprocess
import sys
import time
from typing import TYPE_CHECKING

import pytest

from tests.conftest import REPO

if TYPE_CHECKING:
    from tests.fake_dify.fixtures import FakeDifyFactory

pty = pytest.importorskip("pty")
fcntl = pytest.importorskip("fcntl")
termios = pytest.importorskip("termios")

EMAIL = "admin@example.com"
PASSWORD = "Passw0rd!Example"


class Terminal:
    """`dify` running with a pseudo-terminal as its controlling terminal."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.master, slave = pty.openpty()

        def take_terminal() -> None:
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.proc = subprocess.Popen(
            [sys.executable, "-m", "dify_cli", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env={**os.environ, **env},
            cwd=REPO,
            start_new_session=True,
            preexec_fn=take_terminal,  # noqa: PLW1509 - sets the controlling tty
        )
        os.close(slave)
        self.seen = ""

    def expect(self, text: str, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.seen:
            left = deadline - time.monotonic()
            assert left > 0, f"never saw {text!r}; saw {self.seen!r}"
            ready, _, _ = select.select([self.master], [], [], left)
            if not ready:
                continue
            try:
                chunk = os.read(self.master, 4096)
            except OSError:  # the other end closed
                chunk = b""
            assert chunk, f"ended before {text!r}; saw {self.seen!r}"
            self.seen += chunk.decode("utf-8", "replace")

    def send(self, text: str) -> None:
        os.write(self.master, text.encode())

    def finish(self, timeout: float = 15) -> int:
        code = self.proc.wait(timeout)
        with contextlib.suppress(OSError):
            while chunk := os.read(self.master, 4096):
                self.seen += chunk.decode("utf-8", "replace")
        os.close(self.master)
        return code


def test_prompts_for_email_and_hidden_password(
    fake_dify: FakeDifyFactory, env: dict[str, str]
) -> None:
    fake = fake_dify("modern")
    term = Terminal(["connect", "--server", fake.url], env)
    term.expect("Email: ")
    term.send(EMAIL + "\n")
    term.expect(f"Password for {EMAIL}: ")
    term.send(PASSWORD + "\n")
    term.expect("Connected to")
    assert term.finish() == 0
    assert PASSWORD not in term.seen


def test_ctrl_c_at_the_password_prompt(
    fake_dify: FakeDifyFactory, env: dict[str, str]
) -> None:
    fake = fake_dify("modern")
    term = Terminal(["connect", "--server", fake.url, "--email", EMAIL], env)
    term.expect("Password for")
    term.send("\x03")
    assert term.finish() == 130
    assert "Interrupted." in term.seen
    assert "Traceback" not in term.seen
    assert fake.count("POST", "login") == 0


def test_prompts_for_the_email_code(
    fake_dify: FakeDifyFactory, env: dict[str, str]
) -> None:
    fake = fake_dify("cookie")
    term = Terminal(
        ["connect", "--server", fake.url, "--method", "code", "--email", EMAIL], env
    )
    term.expect(f"Code sent to {EMAIL}: ")
    term.send(fake.last_code(EMAIL) + "\n")
    term.expect("Connected to")
    assert term.finish() == 0
    assert fake.count("POST", "email-code-login") == 1


def test_a_typed_email_that_is_no_address_sends_nothing(
    fake_dify: FakeDifyFactory, env: dict[str, str]
) -> None:
    fake = fake_dify("modern")
    term = Terminal(["connect", "--server", fake.url], env)
    term.expect("Email: ")
    term.send("admin at example.com\n")
    assert term.finish() == 2
    assert (
        "Error: Email 'admin at example.com' contains spaces or control characters."
        in term.seen
    )
    assert "Password" not in term.seen
    assert fake.counts == {}


def test_a_typed_password_keeps_its_spaces(
    fake_dify: FakeDifyFactory, env: dict[str, str]
) -> None:
    fake = fake_dify("modern")
    spaced = " Spaced9pass "
    fake.add_account("spaced@example.com", spaced)
    term = Terminal(
        ["connect", "--server", fake.url, "--email", "spaced@example.com"], env
    )
    term.expect("Password for spaced@example.com: ")
    term.send(spaced + "\n")
    term.expect("Connected to")
    assert term.finish() == 0
    assert spaced.strip() not in term.seen
