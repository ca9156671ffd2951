"""Server versions: parsing, ordering, and the login generation each one speaks."""

from __future__ import annotations

import pytest

from dify_cli.versions import (
    encodes_secrets,
    generation_for,
    parse_version,
    workspace_current_method,
)


@pytest.mark.parametrize(
    ("version", "generation"),
    [
        ("0.15.8", "legacy"),
        ("1.8.1", "legacy"),
        ("1.9.1", "legacy"),
        ("1.9.2rc1", "legacy"),
        ("1.9.2", "cookie"),
        ("1.10.1", "cookie"),
        ("1.11.1", "cookie"),
        ("1.11.2-rc1", "cookie"),
        ("1.11.2", "modern"),
        ("1.16.0-rc1", "modern"),
        ("v1.14.1", "modern"),
        ("2.0.0-beta.1", "legacy"),
        ("2.0.0-beta2", "legacy"),
        ("2.0.0b2", "legacy"),
        ("2.0.0", "modern"),
        (None, "legacy"),
        ("", "legacy"),
        ("not a version", "legacy"),
    ],
)
def test_generation_for(version: str | None, generation: str) -> None:
    assert generation_for(version) == generation


def test_only_modern_servers_get_base64_secrets() -> None:
    assert encodes_secrets("1.11.2")
    assert not encodes_secrets("1.11.1")
    assert not encodes_secrets("2.0.0-beta2")
    assert not encodes_secrets(None)


def test_prereleases_sort_before_their_release() -> None:
    rc = parse_version("1.16.0-rc1")
    assert rc is not None
    assert rc.is_prerelease
    assert rc.at_least("1.15.9")
    assert not rc.at_least("1.16.0")
    release = parse_version("1.16")
    assert release is not None
    assert release.at_least("1.16.0")
    assert not release.is_prerelease


def test_post_and_dev_releases() -> None:
    post = parse_version("1.11.2.post1")
    dev = parse_version("1.11.2.dev3")
    assert post is not None
    assert dev is not None
    assert post.at_least("1.11.2")
    assert not dev.at_least("1.11.2")
    assert dev.at_least("1.11.1")


def test_unparseable_versions_are_none() -> None:
    assert parse_version(None) is None
    assert parse_version("latest") is None


@pytest.mark.parametrize(
    ("version", "method"),
    [("1.10.0", "GET"), ("1.10.1", "POST"), ("2.0.0-beta2", "GET"), (None, "GET")],
)
def test_current_workspace_method(version: str | None, method: str) -> None:
    assert workspace_current_method(version) == method
