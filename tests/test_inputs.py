"""Standard input and files given to commands: closed, endless or too large."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

from dify_cli.inputs import MAX_INPUT_BYTES
from tests.test_app import EMAIL, PASSWORD, one_error

if TYPE_CHECKING:
    from pathlib import Path

    from tests.conftest import DifyRunner
    from tests.fake_dify import FakeDify
    from tests.fake_dify.fixtures import FakeDifyFactory

needs_posix = pytest.mark.skipif(os.name == "nt", reason="POSIX devices and fds")


@pytest.fixture
def connected(fake_dify: FakeDifyFactory, dify: DifyRunner) -> FakeDify:
    fake = fake_dify("modern")
    result = dify(
        "-p", "m", "connect", "--server", fake.url, "--email", EMAIL,
        "--password-stdin", input=PASSWORD + "\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    fake.reset_counts()
    return fake


@needs_posix
@pytest.mark.parametrize(
    ("args", "text"),
    [
        (["connect", "--force"], "No terminal to ask for the password"),
        (["connect", "--force", "--password-stdin"], "no input on standard input"),
        (["app", "import", "-"], "no input on standard input"),
        (["api", "apps", "--input", "-"], "no input on standard input"),
        (["api", "apps", "-F", "x=@-"], "no input on standard input"),
    ],
)
def test_closed_stdin_is_a_usage_error(
    connected: FakeDify, dify_proc: DifyRunner, args: list[str], text: str
) -> None:
    result = dify_proc("-p", "m", *args, close_stdin=True)
    one_error(result, 2, text)
    assert not connected.count("POST", "login")
    assert not connected.count("POST", "apps")


@needs_posix
@pytest.mark.parametrize(
    "args",
    [
        ["app", "import", "/dev/zero"],
        ["api", "apps", "-F", "x=@/dev/zero"],
        ["api", "apps", "--input", "/dev/zero"],
    ],
)
def test_a_device_is_not_read(
    connected: FakeDify, dify_proc: DifyRunner, args: list[str]
) -> None:
    result = dify_proc("-p", "m", *args, timeout=20)
    one_error(result, 2, "/dev/zero is not a regular file")
    assert connected.requests == [] or not connected.count("POST", "apps")


def test_input_over_the_limit_is_refused(
    connected: FakeDify, dify: DifyRunner, tmp_path: Path
) -> None:
    big = tmp_path / "big.yml"
    with big.open("wb") as stream:
        stream.truncate(MAX_INPUT_BYTES + 1)
    result = dify("-p", "m", "app", "import", str(big))
    one_error(result, 2, "larger than 50 MiB")

    result = dify(
        "-p", "m", "api", "apps", "--input", "-", input="[" * (MAX_INPUT_BYTES + 1)
    )
    one_error(result, 2, "Standard input is larger than 50 MiB")
