"""Pytest fixtures that start fake Dify servers and stop them after the test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.fake_dify.server import FakeDify

FakeDifyFactory = Callable[..., FakeDify]


@pytest.fixture
def fake_dify() -> Iterator[FakeDifyFactory]:
    """A factory: `fake_dify(generation=None, **kwargs)` returns a started
    server (modern unless a generation or version says otherwise); every server
    it made is stopped at teardown."""
    servers: list[FakeDify] = []

    def start(generation: str | None = None, **kwargs: Any) -> FakeDify:
        server = FakeDify(generation, **kwargs)  # type: ignore[arg-type]
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def fake_server(fake_dify: FakeDifyFactory) -> FakeDify:
    """A started modern (1.16.0-rc1) server over plain HTTP."""
    return fake_dify()
