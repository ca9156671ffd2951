"""The console client against the fake server: versions, encodings, tokens, errors."""

from __future__ import annotations

import base64
import http.server
import json
import socket
import threading
import time
from typing import TYPE_CHECKING

import pytest

from dify_cli import client as client_module
from dify_cli.client import (
    ConsoleClient,
    RefreshRejected,
    SessionRejected,
    jwt_expiry,
)
from dify_cli.errors import (
    ApiError,
    AuthError,
    ConfigError,
    DifyError,
    NetworkError,
    RateLimitError,
)
from tests.fake_dify import Fault

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from tests.conftest import DifyRunner, Result
    from tests.fake_dify import FakeDify
    from tests.fake_dify.fixtures import FakeDifyFactory

EMAIL = "admin@example.com"
PASSWORD = "Passw0rd!Example"


def client_for(fake: FakeDify, **kwargs: object) -> ConsoleClient:
    if fake.https and "ca_bundle" not in kwargs and "verify_tls" not in kwargs:
        kwargs["ca_bundle"] = fake.ca_bundle
    return ConsoleClient(fake.url, **kwargs)  # type: ignore[arg-type]


def login_body(fake: FakeDify) -> dict[str, str]:
    sent = [r for r in fake.requests if r.path == "/console/api/login"]
    return dict(json.loads(sent[-1].body))


@pytest.mark.parametrize(
    ("generation", "version", "expected"),
    [
        ("legacy", None, "legacy"),
        ("legacy", "2.0.0-beta2", "legacy"),
        ("cookie", None, "cookie"),
        ("cookie", "1.9.2", "cookie"),
        ("modern", None, "modern"),
        ("modern", "1.11.2", "modern"),
    ],
)
def test_probe_reads_the_version_header(
    fake_dify: FakeDifyFactory, generation: str, version: str | None, expected: str
) -> None:
    fake = fake_dify(generation, version=version)
    client = client_for(fake)
    features = client.probe()
    assert client.version == fake.version
    assert client.generation == expected
    assert features["enable_email_password_login"] is True


@pytest.mark.parametrize("generation", ["legacy", "cookie", "modern"])
def test_password_is_base64_exactly_on_modern_servers(
    fake_dify: FakeDifyFactory, generation: str
) -> None:
    fake = fake_dify(generation)
    client = client_for(fake)
    client.probe()
    creds = client.login_password(EMAIL, PASSWORD)
    sent = login_body(fake)["password"]
    if generation == "modern":
        assert sent == base64.b64encode(PASSWORD.encode()).decode()
    else:
        assert sent == PASSWORD
    assert creds.access_token
    assert creds.refresh_token
    assert (creds.csrf_token is None) == (generation == "legacy")
    assert client.account_profile()["email"] == EMAIL


def test_missing_version_header_falls_back_to_plain_and_the_answer_shape(
    fake_dify: FakeDifyFactory,
) -> None:
    fake = fake_dify("cookie")
    fake.version = ""
    client = client_for(fake)
    client.probe()
    assert client.version is None
    assert client.generation == "legacy"
    client.login_password(EMAIL, PASSWORD)
    assert login_body(fake)["password"] == PASSWORD
    # Tokens came as cookies, so requests now carry cookies and the CSRF token.
    assert client.generation == "cookie"
    assert client.account_profile()["email"] == EMAIL


def test_host_prefixed_cookies_keep_their_exact_names(
    fake_dify: FakeDifyFactory,
) -> None:
    fake = fake_dify("modern", https=True)
    client = client_for(fake)
    client.probe()
    creds = client.login_password(EMAIL, PASSWORD)
    assert creds.cookie_names == {
        "access_token": "__Host-access_token",
        "refresh_token": "__Host-refresh_token",
        "csrf_token": "__Host-csrf_token",
    }
    fake.reset_counts()
    client.account_profile()
    sent = fake.requests[-1]
    cookie = sent.header("Cookie") or ""
    assert f"__Host-access_token={creds.access_token}" in cookie
    assert f"__Host-csrf_token={creds.csrf_token}" in cookie
    assert sent.header("X-CSRF-Token") == creds.csrf_token


@pytest.mark.parametrize("generation", ["legacy", "cookie", "modern"])
def test_refresh_rotates_and_keeps_working(
    fake_dify: FakeDifyFactory, generation: str
) -> None:
    fake = fake_dify(generation)
    client = client_for(fake)
    client.probe()
    old = client.login_password(EMAIL, PASSWORD)
    new = client.refresh()
    assert new.refresh_token != old.refresh_token
    assert client.account_profile()["email"] == EMAIL
    client.credentials.refresh_token = old.refresh_token
    with pytest.raises(RefreshRejected):
        client.refresh()


def test_expired_access_token_is_renewable(fake_dify: FakeDifyFactory) -> None:
    fake = fake_dify("cookie")
    client = client_for(fake)
    client.probe()
    client.login_password(EMAIL, PASSWORD)
    fake.expire_access_tokens()
    with pytest.raises(SessionRejected) as caught:
        client.account_profile()
    assert caught.value.renewable
    assert caught.value.exit_code == 4


def test_garbage_token_is_not_renewable(fake_dify: FakeDifyFactory) -> None:
    fake = fake_dify("legacy")
    client = client_for(fake)
    client.probe()
    client.credentials.access_token = "not-a-jwt"
    with pytest.raises(SessionRejected) as caught:
        client.account_profile()
    assert not caught.value.renewable


def test_jwt_expiry_reads_exp_without_verifying() -> None:
    def part(data: dict[str, object]) -> str:
        raw = json.dumps(data).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    token = f"{part({'alg': 'HS256'})}.{part({'exp': 1234})}.sig"
    assert jwt_expiry(token) == 1234.0
    assert jwt_expiry("abc") is None
    assert jwt_expiry("a.!!!.c") is None
    assert jwt_expiry(None) is None


@pytest.mark.parametrize(
    "exp", ["NaN", "Infinity", "1e400", "1" + "0" * 400, "true", '"1234"']
)
def test_jwt_expiry_ignores_an_exp_that_is_no_time(exp: str) -> None:
    claims = base64.urlsafe_b64encode(f'{{"exp": {exp}}}'.encode()).decode()
    assert jwt_expiry(f"e30.{claims.rstrip('=')}.sig") is None


# -- login errors ----------------------------------------------------------


@pytest.mark.parametrize(
    ("generation", "version"),
    [("legacy", "1.7.0"), ("legacy", "1.8.1"), ("legacy", None), ("modern", None)],
)
def test_wrong_password_and_unknown_email_are_auth_errors(
    fake_dify: FakeDifyFactory, generation: str, version: str | None
) -> None:
    fake = fake_dify(generation, version=version)
    client = client_for(fake)
    client.probe()
    with pytest.raises(AuthError, match="Wrong email or password"):
        client.login_password(EMAIL, "wrong-password1")
    with pytest.raises(AuthError) as caught:
        client.login_password("nobody@example.com", "wrong-password1")
    assert caught.value.exit_code == 4


def test_lockout_is_reported_and_not_retried(fake_dify: FakeDifyFactory) -> None:
    fake = fake_dify("modern")
    client = client_for(fake)
    client.probe()
    for _ in range(6):
        with pytest.raises(AuthError):
            client.login_password(EMAIL, "wrong-password1")
    fake.reset_counts()
    with pytest.raises(RateLimitError, match="24 hours after 6 failures") as caught:
        client.login_password(EMAIL, PASSWORD)
    assert caught.value.exit_code == 7
    assert fake.count("POST", "login") == 1


def test_password_login_disabled_suggests_email_code(
    fake_dify: FakeDifyFactory,
) -> None:
    fake = fake_dify("modern")
    fake.features["enable_email_password_login"] = False
    client = client_for(fake)
    client.probe()
    with pytest.raises(AuthError, match="Password login is disabled") as caught:
        client.login_password(EMAIL, PASSWORD)
    assert "--method code" in str(caught.value)


def test_server_not_set_up(fake_dify: FakeDifyFactory) -> None:
    fake = fake_dify("modern", setup_done=False)
    client = client_for(fake)
    client.probe()
    with pytest.raises(ConfigError, match="not been set up") as caught:
        client.login_password(EMAIL, PASSWORD)
    assert "/install" in str(caught.value)


def test_login_without_workspace(fake_dify: FakeDifyFactory) -> None:
    fake = fake_dify("legacy")
    fake.add_account("lonely@example.com", "Passw0rd!Lonely", workspaces=[])
    client = client_for(fake)
    client.probe()
    with pytest.raises(ApiError, match="workspace not found"):
        client.login_password("lonely@example.com", "Passw0rd!Lonely")


def test_banned_account(fake_dify: FakeDifyFactory) -> None:
    fake = fake_dify("cookie")
    fake.add_account("banned@example.com", "Passw0rd!Banned", banned=True)
    client = client_for(fake)
    client.probe()
    with pytest.raises(AuthError, match="banned"):
        client.login_password("banned@example.com", "Passw0rd!Banned")


def test_email_code_errors(fake_dify: FakeDifyFactory) -> None:
    fake = fake_dify("modern")
    client = client_for(fake)
    client.probe()
    token = client.send_email_code(EMAIL)
    with pytest.raises(AuthError, match="Wrong email code"):
        client.login_email_code(
            EMAIL, "000000" if fake.last_code(EMAIL) != "000000" else "111111", token
        )
    client.login_email_code(EMAIL, fake.last_code(EMAIL), token)
    with pytest.raises(AuthError, match="expired, was already used"):
        client.login_email_code(EMAIL, fake.last_code(EMAIL), token)
    client.send_email_code(EMAIL)
    client.send_email_code(EMAIL)
    with pytest.raises(RateLimitError, match="3 every 5 minutes"):
        client.send_email_code(EMAIL)


# -- transport failures ------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "error", "text"),
    [
        (Fault.BAD_GATEWAY_HTML, NetworkError, r"is unavailable \(502\)"),
        (Fault.WEB_PAGE, NetworkError, "does not look like a Dify API"),
        (Fault.SERVER_ERROR, ApiError, "internal error"),
        (Fault.SERVER_ERROR_HTML, ApiError, r"internal error \(500\)"),
        (Fault.TRUNCATED_JSON, NetworkError, "incomplete or invalid JSON"),
        (Fault.RESET, NetworkError, "closed the connection"),
    ],
)
def test_faults_map_to_clear_errors(
    fake_dify: FakeDifyFactory, fault: Fault, error: type[Exception], text: str
) -> None:
    fake = fake_dify("modern")
    fake.fail_next(1, fault)
    client = client_for(fake)
    with pytest.raises(error, match=text):
        client.probe()


def test_timeout(fake_dify: FakeDifyFactory) -> None:
    fake = fake_dify("modern", timeout_hold=2.0)
    fake.fail_next(1, Fault.TIMEOUT)
    client = client_for(fake, timeout=0.3)
    with pytest.raises(NetworkError, match=r"did not answer within 0\.3 s"):
        client.probe()


def test_connection_refused() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = ConsoleClient(f"http://127.0.0.1:{port}")
    with pytest.raises(NetworkError, match="connection refused"):
        client.probe()


def test_unknown_host() -> None:
    client = ConsoleClient("http://dify.invalid", timeout=5)
    with pytest.raises(NetworkError) as caught:
        client.probe()
    assert caught.value.exit_code == 5


def test_untrusted_certificate_suggests_ca_bundle(fake_dify: FakeDifyFactory) -> None:
    fake = fake_dify("modern", https=True)
    client = ConsoleClient(fake.url)
    with pytest.raises(NetworkError, match="not trusted") as caught:
        client.probe()
    assert "--ca-bundle" in str(caught.value)
    assert "--insecure" in str(caught.value)


def test_insecure_warns_once_on_stderr(
    fake_dify: FakeDifyFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = fake_dify("modern", https=True)
    client = ConsoleClient(fake.url, verify_tls=False)
    client.probe()
    client.probe()
    ConsoleClient(fake.url, verify_tls=False).probe()
    err = capsys.readouterr().err
    assert err.count("TLS certificate verification is off") == 1
    assert "InsecureRequestWarning" not in err


def test_missing_ca_bundle_is_a_config_error(tmp_path: object) -> None:
    with pytest.raises(ConfigError, match="CA bundle not found"):
        ConsoleClient("https://dify.example.com", ca_bundle="/nonexistent/ca.pem")


def test_a_ca_bundle_is_not_looked_at_for_plain_http(
    fake_dify: FakeDifyFactory,
) -> None:
    fake = fake_dify("modern")
    client = ConsoleClient(fake.url, ca_bundle="/nonexistent/ca.pem")
    assert client.probe() is not None
    with pytest.raises(ConfigError, match="CA bundle not found"):
        ConsoleClient("https://dify.example.com", ca_bundle="/nonexistent/ca.pem")


def test_web_console_page_is_not_an_api(fake_dify: FakeDifyFactory) -> None:
    fake = fake_dify("modern")
    fake.fail_next(1, Fault.WEB_PAGE, path="system-features")
    client = client_for(fake)
    with pytest.raises(NetworkError) as caught:
        client.probe()
    assert caught.value.exit_code == 5
    assert "HTML page" in caught.value.message


def test_password_of_the_wrong_form_on_old_servers(fake_dify: FakeDifyFactory) -> None:
    fake = fake_dify("legacy", version="1.8.1")
    client = client_for(fake)
    client.probe()
    with pytest.raises(AuthError, match="Wrong email or password"):
        client.login_password(EMAIL, "lettersonly")


def test_malformed_email_is_a_usage_error(fake_dify: FakeDifyFactory) -> None:
    fake = fake_dify("modern")
    client = client_for(fake)
    client.probe()
    with pytest.raises(DifyError) as caught:
        client.login_password("not-an-email", PASSWORD)
    assert caught.value.exit_code == 2
    assert "not-an-email" in caught.value.message
    assert PASSWORD not in caught.value.message


MESSAGE_500 = "The server encountered an internal error in the application."


# Answers Python's JSON reader takes, or chokes on, and a strict one refuses.
STRICT_JSON_REFUSES = {
    "deep-unclosed": b"[" * 100_000,
    "deep": b"[" * 50_000 + b"]" * 50_000,
    "nan": b'{"id": NaN, "name": Infinity}',
}


class _Misbehaving(http.server.BaseHTTPRequestHandler):
    """Answers every GET in the way the server's ``mode`` says."""

    def do_GET(self) -> None:
        mode = self.server.mode  # type: ignore[attr-defined]
        try:
            if mode == "drip-status":
                for byte in b"HTTP/1.1 200 OK\r\n":
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(0.5)
                return
            if mode == "error-500":
                body = json.dumps(
                    {"code": "internal_server_error", "message": MESSAGE_500}
                ).encode()
                self.send_response(500)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            if mode == "huge-declared":
                self.send_header("Content-Length", str(1 << 40))
            self.end_headers()
            if mode == "drip-body":
                while True:
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.5)
            if mode in ("huge", "huge-declared"):
                self.wfile.write(b'{"a": "' + b"x" * (256 * 1024) + b'"}')
            self.wfile.write(STRICT_JSON_REFUSES.get(mode, b""))
        except OSError:
            pass  # the client gave up, as it should

    def log_message(self, format: str, *args: object) -> None:
        pass


def password_login(dify: DifyRunner, url: str) -> Result:
    return dify(
        "connect", "--server", url, "--email", EMAIL, "--password-stdin",
        input=PASSWORD + "\n",
    )  # fmt: skip


@pytest.fixture
def misbehaving() -> Iterator[Callable[[str], str]]:
    """Start a server answering as told; returns its URL."""
    servers: list[http.server.ThreadingHTTPServer] = []

    def start(mode: str) -> str:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Misbehaving)
        server.daemon_threads = True
        server.mode = mode  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("mode", "said"),
    [
        ("drip-body", "did not finish answering within 2 s"),
        ("drip-status", "did not answer within 2 s"),
    ],
)
def test_the_timeout_bounds_a_whole_trickling_answer(
    misbehaving: Callable[[str], str], dify_proc: DifyRunner, mode: str, said: str
) -> None:
    url = misbehaving(mode)
    started = time.monotonic()
    result = dify_proc(
        "connect", "--server", url, "--email", EMAIL, "--password-stdin",
        input=PASSWORD + "\n", extra_env={"DIFY_TIMEOUT": "2"}, timeout=20,
    )  # fmt: skip
    assert time.monotonic() - started < 10
    assert result.exit_code == 5, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert said in lines[0]
    assert "Cannot reach" not in lines[0]


@pytest.mark.parametrize("mode", ["huge", "huge-declared"])
def test_an_answer_over_the_size_cap_is_dropped(
    misbehaving: Callable[[str], str],
    dify: DifyRunner,
    monkeypatch: pytest.MonkeyPatch,
    mode: str,
) -> None:
    # The real cap is 64 MiB; a smaller one keeps the test quick.
    monkeypatch.setattr(client_module, "MAX_ANSWER_BYTES", 128 * 1024)
    url = misbehaving(mode)
    result = password_login(dify, url)
    assert result.exit_code == 5, result.output
    assert "answered more than 128 KiB" in result.stderr
    assert "bug" not in result.output


def test_a_read_timeout_mid_body_is_a_timeout(
    misbehaving: Callable[[str], str],
) -> None:
    import requests
    import urllib3

    error = requests.exceptions.ConnectionError(
        urllib3.exceptions.ReadTimeoutError(None, "/", "Read timed out.")  # type: ignore[arg-type]
    )
    client = ConsoleClient("http://127.0.0.1:9", timeout=3)
    said = client._transport_error(error)
    assert isinstance(said, NetworkError)
    assert "did not answer within 3 s" in said.message


def test_a_server_message_ending_in_a_full_stop_gets_no_second_one(
    misbehaving: Callable[[str], str], dify: DifyRunner
) -> None:
    result = password_login(dify, misbehaving("error-500"))
    assert result.exit_code == 1, result.output
    assert f"(500): {MESSAGE_500} Try again" in result.stderr
    assert ".." not in result.stderr


@pytest.mark.parametrize("proxy", ["http://[bad", "http://proxy:notaport", "://x"])
def test_a_malformed_proxy_variable_is_blamed_not_the_server(
    dify: DifyRunner, proxy: str
) -> None:
    result = dify(
        "connect", "--server", "https://dify.example.com", "--email", EMAIL,
        "--password-stdin", input=PASSWORD + "\n",
        extra_env={"HTTPS_PROXY": proxy, "https_proxy": None, "NO_PROXY": None,
                   "no_proxy": None},
    )  # fmt: skip
    assert result.exit_code == 3, result.output
    lines = result.stderr.strip().splitlines()
    assert lines == ["Error: The proxy URL in $HTTPS_PROXY is not valid. "
                     "Fix or unset HTTPS_PROXY."]  # fmt: skip
    assert proxy not in result.stderr


@pytest.mark.parametrize("mode", ["deep-unclosed", "deep", "nan"])
def test_json_that_a_strict_reader_refuses_is_invalid(
    misbehaving: Callable[[str], str], dify: DifyRunner, mode: str
) -> None:
    url = misbehaving(mode)
    result = password_login(dify, url)
    assert result.exit_code == 5, result.output
    assert "incomplete or invalid JSON" in result.stderr
    assert "bug" not in result.output
