"""Server URL checks: what is accepted, how it is normalised, and what is refused."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dify_cli.errors import ConfigError
from dify_cli.urls import normalize_server_url

if TYPE_CHECKING:
    from tests.conftest import DifyRunner


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://dify.example.com", "https://dify.example.com"),
        ("https://dify.example.com/", "https://dify.example.com"),
        ("https://dify.example.com//", "https://dify.example.com"),
        ("https://dify.example.com/console/api", "https://dify.example.com"),
        ("https://dify.example.com/console/api/", "https://dify.example.com"),
        ("HTTPS://Dify.Example.COM", "https://dify.example.com"),
        ("http://localhost:5001", "http://localhost:5001"),
        ("http://127.0.0.1/console/api", "http://127.0.0.1"),
        ("http://[::1]:8080/", "http://[::1]:8080"),
        ("  https://dify.example.com  ", "https://dify.example.com"),
        ("https://bücher.example", "https://xn--bcher-kva.example"),
    ],
)
def test_normalises(raw: str, expected: str) -> None:
    assert normalize_server_url(raw) == expected


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("", "empty"),
        ("dify.example.com", "no scheme"),
        ("localhost:5001", "no scheme"),
        ("https://dify example.com", "spaces"),
        ("https://dify.example.com/apps", "path '/apps'"),
        ("https://dify.example.com/console", "give the server root"),
        ("https://x/console/api/console/api", "path"),
        ("ftp://dify.example.com", "only http and https"),
        ("https://dify.example.com?x=1", "query"),
        ("https://", "no host"),
        ("https://dify.example.com:99999", "port"),
        ("https://dify.example.com:" + "9" * 5000, "port out of range"),
        ("https://dify.example.com:abc", "port"),
        ("http://[::1", "not a valid URL"),
        ("https://exa$mple.com", "host name"),
        ("https://a..com", "host name"),
        ("https://.a.com", "host name"),
        ("http://" + "a" * 64 + ".com", "too long"),
        ("http://" + ".".join(["a" * 60] * 5), "too long"),
        ("http://" + "ü" * 60 + ".com", "host name"),
    ],
)
def test_refuses(raw: str, says: str) -> None:
    with pytest.raises(ConfigError, match="(?i)" + says.replace("?", r"\?")):
        normalize_server_url(raw)


def test_never_echoes_a_password() -> None:
    with pytest.raises(ConfigError) as caught:
        normalize_server_url("https://admin:hunter2@dify.example.com")
    assert "hunter2" not in str(caught.value)


def test_error_is_one_line_for_any_input() -> None:
    with pytest.raises(ConfigError) as caught:
        normalize_server_url("https://a\nb/" + "x" * 500)
    assert "\n" not in str(caught.value)
    assert len(str(caught.value)) < 300


def _check(raw: str) -> None:
    try:
        once = normalize_server_url(raw)
    except ConfigError as error:
        assert "\n" not in str(error)
        return
    assert normalize_server_url(once) == once
    assert once.startswith(("http://", "https://"))
    # What the HTTP library does with the host when it connects.
    host = urlsplit(once).hostname or ""
    host.encode("idna")


@given(st.text())
def test_arbitrary_text_never_crashes_and_is_idempotent(raw: str) -> None:
    _check(raw)


_hosts = st.one_of(
    st.from_regex(r"[A-Za-z0-9][A-Za-z0-9.-]{0,20}", fullmatch=True),
    st.just("[::1]"),
    st.text(min_size=1, max_size=12),
    st.from_regex(r"[a-z]{1,70}(\.[a-z]{0,70}){0,5}", fullmatch=True),
)
_url_like = st.builds(
    lambda scheme, host, port, suffix: f"{scheme}://{host}{port}{suffix}",
    st.sampled_from(["http", "https", "HTTP", "ftp", ""]),
    _hosts,
    st.sampled_from(["", ":80", ":0", ":65536", ":x", ":"]),
    st.sampled_from(["", "/", "/console/api", "/console/api/", "/x", "?a", "#f"]),
)


@given(_url_like)
def test_url_like_text_is_idempotent(raw: str) -> None:
    _check(raw)


LONG_LABEL = "http://" + "a" * 70 + ".com"


@pytest.mark.parametrize(
    "args",
    [
        ("-p", "p", "connect", "--server", LONG_LABEL, "--email", "a@b.c"),
        ("profile", "add", "p", "--server", LONG_LABEL),
        ("-p", "p", "status"),
    ],
)
def test_long_host_label_is_refused_by_every_command(
    dify: DifyRunner, args: tuple[str, ...]
) -> None:
    env = {"DIFY_URL": LONG_LABEL} if args[-1] == "status" else None
    if env:
        assert dify("profile", "add", "p").exit_code == 0
    result = dify(*args, extra_env=env)
    assert result.exit_code == 3, result.output
    assert result.stderr.count("\n") == 1
    assert "too long" in result.stderr
    assert "Traceback" not in result.output


_userinfo_urls = st.builds(
    lambda before, user, password, after: f"{before}{user}:{password}@{after}",
    st.sampled_from(["https://", "http://", "HTTPS://", "ftp://", "", " https://"]),
    st.text(max_size=8),
    # Long enough that it cannot appear in a message by chance.
    st.text(min_size=10),
    st.sampled_from(["", "host.example", "host.example/?x=1", "host.example#f"])
    | st.text(),
)


@given(_userinfo_urls)
def test_no_message_contains_the_password_of_a_url(raw: str) -> None:
    password = raw.rpartition("@")[0].partition(":")[2]
    with pytest.raises(ConfigError) as caught:
        normalize_server_url(raw)
    assert password not in str(caught.value)
    assert password not in (caught.value.hint or "")


PASSWORD_URLS = [
    "https://user:s3cretpw@host.example/?x=1",
    "https://user:s3cretpw@host.example/#frag",
    "ftp://user:s3cretpw@host.example",
    "user:s3cretpw@host.example",
    "https://user:s3cret pw@host.example",
    "https://user:s3cretpw@[::1",
    "https://user:s3cretpw@exa$mple.com",
    "https://user:s3cretpw@host.example/apps",
]


@pytest.mark.parametrize("url", PASSWORD_URLS)
def test_commands_never_echo_the_password_of_a_server_url(
    dify: DifyRunner, url: str
) -> None:
    added = dify("profile", "add", "p", "--server", url)
    assert added.exit_code == 3
    assert "user name or password" in added.stderr

    assert dify("profile", "add", "q").exit_code == 0
    for result in (
        added,
        dify("-p", "q", "status", extra_env={"DIFY_URL": url}),
        dify("connect", "--server", url, "--email", "a@b.c", input=""),
    ):
        assert result.exit_code == 3, result.output
        assert "s3cret" not in result.output


def test_a_query_is_not_echoed_either() -> None:
    with pytest.raises(ConfigError) as caught:
        normalize_server_url("https://host.example/?token=s3cretpw")
    assert "s3cret" not in str(caught.value)
    assert "query" in str(caught.value)
