"""Server versions: parsing, ordering, and the login generation each one speaks."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dify_cli.versions import (
    GENERATIONS,
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
        ("0.6.12-fix1", "legacy"),
        ("1.9.1-fix1", "legacy"),
        ("1.11.1-fix.1", "cookie"),
        ("1.11.2-fix1", "modern"),
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


@pytest.mark.parametrize("text", ["0.6.12-fix1", "0.6.12-fix", "0.6.12.fix.1"])
def test_fix_releases_follow_their_release(text: str) -> None:
    fix = parse_version(text)
    assert fix is not None
    assert not fix.is_prerelease
    assert fix.at_least("0.6.12")
    assert not fix.at_least("0.6.13")
    assert not fix.at_least("0.6.12-fix2")
    later = parse_version("0.6.12-fix2")
    assert later is not None
    assert later.at_least(text)


def test_unparseable_versions_are_none() -> None:
    assert parse_version(None) is None
    assert parse_version("latest") is None


@pytest.mark.parametrize(
    "text",
    ["1." + "9" * 5000, "1.0rc" + "9" * 5000, "\u0661.\u0662", "\uff11.\uff12"],
    ids=["huge release", "huge pre-release", "arabic digits", "full-width digits"],
)
def test_what_no_server_sends_is_no_version(text: str) -> None:
    assert parse_version(text) is None
    assert generation_for(text) == "legacy"


def _check(text: str) -> None:
    """Whatever a server sends as its version: no crash, one answer."""
    parsed = parse_version(text)
    assert generation_for(text) in GENERATIONS
    assert workspace_current_method(text) in ("GET", "POST")
    if parsed is not None:
        assert parse_version(parsed.text) == parsed
        assert generation_for(parsed.text) == generation_for(text)
        assert parsed.at_least(parsed.text)


@given(st.text())
def test_any_text_parses_or_not_and_never_crashes(text: str) -> None:
    _check(text)


_numbers = st.integers(min_value=0, max_value=10**6).map(str)


@st.composite
def _versions(draw: st.DrawFn) -> str:
    """Versions as servers write them: 1.16.0-rc1, v1.9.2, 2.0.0-beta.2, ..."""
    release = ".".join(draw(st.lists(_numbers, min_size=1, max_size=4)))
    tags = ["", "a", "b", "rc", "alpha", "beta", "post", "fix", "dev"]
    tag = draw(st.sampled_from(tags))
    if tag:
        separator = draw(st.sampled_from(["", "-", ".", "_"]))
        tag = separator + tag + draw(st.one_of(st.just(""), _numbers))
    prefix = draw(st.sampled_from(["", "v", "V"]))
    build = draw(st.sampled_from(["", "+local", "+abc.5"]))
    pad = draw(st.sampled_from(["", " "]))
    return f"{pad}{prefix}{release}{tag}{build}{pad}"


@given(_versions())
def test_version_like_text_parses_and_is_idempotent(text: str) -> None:
    parsed = parse_version(text)
    assert parsed is not None, text
    _check(text)


@given(_versions(), _versions())
def test_any_two_versions_compare(a: str, b: str) -> None:
    first, second = parse_version(a), parse_version(b)
    assert first is not None
    assert second is not None
    assert first.at_least(b) or second.at_least(a)


@given(
    st.lists(_numbers, min_size=1, max_size=4).map(".".join),
    st.integers(min_value=0, max_value=10**6),
    st.sampled_from(["-", ".", "_", ""]),
)
def test_a_fix_release_sorts_after_its_release_and_before_the_next(
    release: str, number: int, separator: str
) -> None:
    fix = parse_version(f"{release}{separator}fix{number}")
    plain = parse_version(release)
    assert fix is not None
    assert plain is not None
    assert fix.at_least(release)
    assert not plain.at_least(fix.text)
    assert not fix.at_least(f"{release}.1")
    assert not fix.at_least(f"{release}-fix{number + 1}")
    assert generation_for(fix.text) == generation_for(release)


@pytest.mark.parametrize(
    ("version", "method"),
    [("1.10.0", "GET"), ("1.10.1", "POST"), ("2.0.0-beta2", "GET"), (None, "GET")],
)
def test_current_workspace_method(version: str | None, method: str) -> None:
    assert workspace_current_method(version) == method
