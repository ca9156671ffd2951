"""The fake Dify server itself: lifecycle, TLS, test hooks, faults, tokens."""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import requests

from tests.fake_dify import ROUTES, FakeDify, Fault, route
from tests.fake_dify.client import call, login, post_login
from tests.fake_dify.messages import Response
from tests.fake_dify.tokens import TokenError, sign_jwt, verify_jwt

if TYPE_CHECKING:
    from tests.fake_dify.fixtures import FakeDifyFactory
    from tests.fake_dify.messages import Request

REPO = Path(__file__).resolve().parent.parent


# Lifecycle


def test_starts_on_a_free_port() -> None:
    with FakeDify() as server:
        assert call(server, "GET", "/ping").ok
    with FakeDify(https=True) as server:
        assert server.url.startswith("https://127.0.0.1:")
        assert call(server, "GET", "/ping").ok


def test_stop_closes_the_port() -> None:
    server = FakeDify().start()
    url = server.url
    server.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/console/api/ping", timeout=2)
    with pytest.raises(RuntimeError):
        _ = server.url


def test_fixture_gives_separate_started_servers(fake_dify: FakeDifyFactory) -> None:
    legacy = fake_dify("legacy")
    modern = fake_dify("modern", cloud=True)
    assert legacy.url != modern.url
    assert call(legacy, "GET", "/ping").headers["X-Version"] == "1.9.1"
    assert call(modern, "GET", "/ping").headers["X-Version"] == "1.16.0-rc1"


def test_fake_server_fixture_is_modern(fake_server: FakeDify) -> None:
    assert fake_server.generation == "modern"
    assert fake_server.url.startswith("http://127.0.0.1:")
    assert fake_server.ca_bundle is None
    assert fake_server.account.email == "admin@example.com"
    assert fake_server.account.password == "Passw0rd!Example"
    assert fake_server.account.name == "Admin"
    assert len(fake_server.account.workspaces) == 1


def test_unknown_generation() -> None:
    with pytest.raises(ValueError, match="generation"):
        FakeDify("ancient")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("generation", "version"),
    [
        ("cookie", "1.11.2"),
        ("legacy", "1.9.2"),
        ("modern", "1.11.1"),
        ("cookie", "2.0.0-beta2"),
    ],
)
def test_a_version_of_another_generation_is_refused(
    generation: str, version: str
) -> None:
    with pytest.raises(ValueError, match=f"Dify {version} speaks the"):
        FakeDify(generation, version=version)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("version", "generation"),
    [
        ("0.6.12-fix1", "legacy"),
        ("1.9.1", "legacy"),
        ("2.0.0-beta2", "legacy"),
        ("1.9.2", "cookie"),
        ("1.11.2-rc1", "cookie"),
        ("1.11.2", "modern"),
        (None, "modern"),
    ],
)
def test_the_generation_follows_the_version(
    version: str | None, generation: str
) -> None:
    fake = FakeDify(version=version)
    assert fake.generation == generation
    assert fake.version == (version or "1.16.0-rc1")


def test_parallel_requests(fake_server: FakeDify) -> None:
    with ThreadPoolExecutor(8) as pool:
        statuses = list(
            pool.map(lambda _: post_login(fake_server).status_code, range(24))
        )
    assert statuses == [200] * 24


def test_command_line_server() -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    options = ["--generation", "legacy", "--port", "0", "--https", "--access-ttl", "60"]
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_dify", *options],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(3)]
        assert lines[0].startswith("Fake Dify 1.9.1 (legacy) at https://127.0.0.1:")
        url = lines[0].split(" at ")[1].strip()
        bundle = lines[1].removeprefix("CA bundle: ").strip()
        assert lines[2].strip() == "Account: admin@example.com / Passw0rd!Example"
        response = requests.get(f"{url}/console/api/ping", verify=bundle, timeout=5)
        assert response.json() == {"result": "pong"}
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)
    assert process.returncode == 0


# TLS


def test_https_with_the_throwaway_ca(fake_dify: FakeDifyFactory) -> None:
    server = fake_dify("modern", https=True)
    assert server.ca_bundle is not None
    assert Path(server.ca_bundle).read_text().startswith("-----BEGIN CERTIFICATE-----")
    assert call(server, "GET", "/ping").ok

    local = server.url.replace("127.0.0.1", "localhost")
    context = ssl.create_default_context(cafile=server.ca_bundle)
    with urllib.request.urlopen(f"{local}/console/api/ping", context=context) as page:
        assert json.load(page) == {"result": "pong"}

    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{server.url}/console/api/ping", timeout=5)


def test_ca_bundle_is_removed_on_stop() -> None:
    server = FakeDify(https=True).start()
    bundle = server.ca_bundle
    assert bundle is not None
    assert Path(bundle).exists()
    server.stop()
    assert not Path(bundle).exists()


def test_a_failed_handshake_does_not_stop_the_server(
    fake_dify: FakeDifyFactory,
) -> None:
    server = fake_dify("modern", https=True)
    with pytest.raises(requests.exceptions.ConnectionError):
        # Plain HTTP to the TLS port.
        requests.get(
            server.url.replace("https", "http") + "/console/api/ping", timeout=5
        )
    assert call(server, "GET", "/ping").ok


# Counts and the request log


def test_counts_and_request_log(fake_server: FakeDify) -> None:
    session = login(fake_server)
    session.get("/account/profile")
    call(fake_server, "GET", "/version?current_version=1.0.0")

    assert fake_server.count("POST", "/console/api/login") == 1
    assert fake_server.count("GET", "/account/profile") == 1
    assert fake_server.count("get", "/console/api/version") == 1
    assert fake_server.counts["GET /console/api/version"] == 1
    assert fake_server.count("POST", "/console/api/refresh-token") == 0

    first = fake_server.requests[0]
    assert (first.method, first.path) == ("POST", "/console/api/login")
    assert json.loads(first.body)["email"] == "admin@example.com"
    assert fake_server.requests[-1].path == "/console/api/version?current_version=1.0.0"
    profile = fake_server.requests[1]
    assert profile.header("x-csrf-token") == session.csrf_token
    assert "X-CSRF-Token: " in str(profile)

    fake_server.reset_counts()
    assert fake_server.count("POST", "/console/api/login") == 0
    assert fake_server.requests == []


# Faults


def test_server_error(fake_server: FakeDify) -> None:
    fake_server.fail_next(2, Fault.SERVER_ERROR)
    for _ in range(2):
        response = call(fake_server, "GET", "/ping")
        assert response.status_code == 500
        assert response.json()["code"] == "internal_server_error"
        assert response.headers["X-Version"] == "1.16.0-rc1"
    assert call(fake_server, "GET", "/ping").ok
    assert fake_server.count("GET", "/ping") == 3


def test_bad_gateway_page(fake_server: FakeDify) -> None:
    fake_server.fail_next(1, Fault.BAD_GATEWAY_HTML)
    response = call(fake_server, "GET", "/system-features")
    assert response.status_code == 502
    assert response.headers["Content-Type"] == "text/html"
    assert "<h1>502 Bad Gateway</h1>" in response.text
    # A proxy answered: Dify's headers are missing.
    assert "X-Version" not in response.headers


def test_truncated_json(fake_server: FakeDify) -> None:
    fake_server.fail_next(1, Fault.TRUNCATED_JSON)
    response = call(fake_server, "GET", "/system-features")
    assert response.status_code == 200
    with pytest.raises(requests.exceptions.JSONDecodeError):
        response.json()


def test_reset(fake_server: FakeDify) -> None:
    fake_server.fail_next(1, Fault.RESET)
    with pytest.raises(requests.exceptions.ConnectionError):
        call(fake_server, "GET", "/ping")
    assert call(fake_server, "GET", "/ping").ok


def test_timeout(fake_server: FakeDify) -> None:
    fake_server.fail_next(1, Fault.TIMEOUT)
    with pytest.raises(requests.exceptions.ReadTimeout):
        call(fake_server, "GET", "/ping", timeout=0.3)
    assert call(fake_server, "GET", "/ping").ok


def test_stop_releases_a_held_request() -> None:
    server = FakeDify(timeout_hold=30).start()
    server.fail_next(1, Fault.TIMEOUT)
    errors: list[Exception] = []

    def hang() -> None:
        try:
            call(server, "GET", "/ping", timeout=20)
        except requests.RequestException as error:
            errors.append(error)

    thread = threading.Thread(target=hang)
    thread.start()
    time.sleep(0.2)
    server.stop()
    # The request was held for 30 s: still running after 5 s means stop() waited.
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert errors  # the client saw the connection end without an answer


def test_faults_only_on_their_path(fake_server: FakeDify) -> None:
    fake_server.fail_next(1, Fault.SERVER_ERROR, path="/console/api/login")
    assert call(fake_server, "GET", "/ping").ok
    assert post_login(fake_server).status_code == 500
    assert post_login(fake_server).status_code == 200


def test_a_failed_request_is_not_handled(fake_dify: FakeDifyFactory) -> None:
    server = fake_dify("modern", setup_done=False)
    server.fail_next(1, Fault.SERVER_ERROR, path="/setup")
    body = {"email": "a@example.com", "name": "A", "password": "s3cretpass"}
    assert call(server, "POST", "/setup", json=body).status_code == 500
    assert not server.setup_done
    assert server.count("POST", "/setup") == 1
    assert call(server, "POST", "/setup", json=body).status_code == 201


# Extending the route table


def test_a_new_route_can_be_added(fake_server: FakeDify) -> None:
    before = len(ROUTES)

    @route("/test-only/<thing>", "GET", auth=True)
    def thing(fake: FakeDify, request: Request) -> Response:
        assert request.account is not None
        return Response(200, {"thing": request.params["thing"]})

    try:
        session = login(fake_server)
        assert session.get("/test-only/42").json() == {"thing": "42"}
        assert call(fake_server, "GET", "/test-only/42").status_code == 401
        assert call(fake_server, "POST", "/test-only/42").status_code == 405
    finally:
        del ROUTES[before:]


# Tokens


def test_jwt_round_trip() -> None:
    key = b"k" * 32
    token = sign_jwt({"sub": "x", "exp": int(time.time()) + 60}, key)
    assert token.startswith("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.")
    assert verify_jwt(token, key)["sub"] == "x"


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda t: t + "x", "Invalid token signature."),
        (lambda t: "x" + t, "Invalid token."),
        (lambda t: t.rsplit(".", 1)[0], "Invalid token."),
    ],
)
def test_jwt_refusals(mangle: object, message: str) -> None:
    key = b"k" * 32
    token = sign_jwt({"exp": int(time.time()) + 60}, key)
    assert callable(mangle)
    with pytest.raises(TokenError, match=message):
        verify_jwt(mangle(token), key)


def test_jwt_expiry_is_checked_after_the_signature() -> None:
    key = b"k" * 32
    expired = sign_jwt({"exp": int(time.time()) - 1}, key)
    with pytest.raises(TokenError, match="Token has expired"):
        verify_jwt(expired, key)
    with pytest.raises(TokenError, match="signature"):
        verify_jwt(expired, b"other key")
