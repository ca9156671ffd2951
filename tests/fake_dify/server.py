"""The fake Dify server: HTTP(S) in a thread, its state, and test hooks."""

from __future__ import annotations

import contextlib
import enum
import secrets
import shutil
import socket
import ssl
import struct
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from tests.fake_dify.accounts import (
    DEFAULT_EMAIL,
    DEFAULT_NAME,
    DEFAULT_PASSWORD,
    Account,
    AccountBook,
    Mail,
    Workspace,
)
from tests.fake_dify.apps import AppStore
from tests.fake_dify.features import system_features
from tests.fake_dify.messages import DESCRIPTIONS, Request, Response
from tests.fake_dify.routes import PREFIX, dispatch
from tests.fake_dify.tokens import RefreshTokenStore, TokenIssuer
from tests.fake_dify.versions import (
    DEFAULT_VERSIONS,
    GENERATIONS,
    Behaviour,
    generation_of,
)

if TYPE_CHECKING:
    from types import TracebackType

    from tests.fake_dify.versions import Generation

BAD_GATEWAY_PAGE = b"""<html>
<head><title>502 Bad Gateway</title></head>
<body>
<center><h1>502 Bad Gateway</h1></center>
<hr><center>nginx</center>
</body>
</html>
"""

SERVER_ERROR_PAGE = b"""<!doctype html>
<html lang=en>
<title>500 Internal Server Error</title>
<h1>Internal Server Error</h1>
<p>The server encountered an internal error and was unable to complete your request.</p>
"""

WEB_CONSOLE_PAGE = b"""<!DOCTYPE html><html lang="en-US"><head><meta charSet="utf-8"/>
<title>Dify</title></head><body><div id="__next"></div></body></html>
"""


class Fault(enum.Enum):
    """Ways the next requests can fail, for `FakeDify.fail_next`."""

    SERVER_ERROR = "server_error"
    """500 with Dify's JSON error body."""
    BAD_GATEWAY_HTML = "bad_gateway_html"
    """502 HTML page from a reverse proxy; no X-Version, as Dify never saw it."""
    SERVER_ERROR_HTML = "server_error_html"
    """500 with an HTML page instead of Dify's JSON, as a crash before the
    console API's error handling answers."""
    WEB_PAGE = "web_page"
    """200 with the web console's HTML page, as when a proxy sends the API's
    path to the web front end; no X-Version."""
    TIMEOUT = "timeout"
    """No answer until the client gives up (held at most `timeout_hold` s)."""
    RESET = "reset"
    """The connection is reset (TCP RST) without an answer; over TLS, clients
    may report it as the server closing the connection."""
    TRUNCATED_JSON = "truncated_json"
    """200 whose JSON body is cut short (its Content-Length matches the cut)."""


@dataclass(frozen=True)
class ReceivedRequest:
    """A request as the fake received it: path with its query, body as text."""

    method: str
    path: str
    headers: dict[str, str]
    body: str

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None

    def __str__(self) -> str:
        lines = [f"{self.method} {self.path}"]
        lines += [f"{key}: {value}" for key, value in self.headers.items()]
        return "\n".join([*lines, "", self.body])


@dataclass
class _PendingFault:
    fault: Fault
    remaining: int
    path: str | None


class FakeDify:
    """A Dify console API that answers as the recorded real servers did.

    generation picks the contract: where tokens travel and whether secrets are
    Base64 ("legacy" 1.9.1, "cookie" 1.11.1, "modern" 1.16.0-rc1). version
    changes the reported X-Version and the smaller details that moved between
    releases (wrong-password code, workspaces/current method, error shapes).
    Either may be given alone; given both, the version must be one that speaks
    the generation (1.11.2 is modern, not cookie), else ValueError.
    https serves TLS from a throwaway CA (`ca_bundle`) with `__Host-` cookies;
    cloud is Dify Cloud (always set up, frozen emails, password-less accounts).
    access_ttl is the access and CSRF token lifetime in seconds.

    admin_api_key turns on Dify's admin API key (ADMIN_API_KEY_ENABLE): with it
    as the Bearer token and X-WORKSPACE-ID, a request acts as that workspace's
    owner (see admin_key.py).

    Beyond the contract: port (0 picks a free one), init_password (setup must
    first pass POST /init), email_code_ttl (seconds an email-code token lives)
    and timeout_hold (longest a `Fault.TIMEOUT` request is held). Apps live in
    `apps` (`fake.apps.add("My app", "workflow")`; see apps.py).

    Start it with `start()` or a `with` block.
    """

    def __init__(
        self,
        generation: Generation | None = None,
        *,
        version: str | None = None,
        https: bool = False,
        cloud: bool = False,
        access_ttl: int = 3600,
        setup_done: bool = True,
        port: int = 0,
        init_password: str | None = None,
        email_code_ttl: float = 300,
        timeout_hold: float = 10.0,
        admin_api_key: str | None = None,
    ) -> None:
        generation, version = _contract(generation, version)
        self.generation: Generation = generation
        self.version = version
        self.behaviour = Behaviour(generation, self.version, cloud)
        self.https = https
        self.cloud = cloud
        self.access_ttl = access_ttl
        self.init_password = init_password
        self.admin_api_key = admin_api_key
        self.timeout_hold = timeout_hold
        self.pydantic_version = "2.12" if self.behaviour.modern_shapes else "2.11"

        self.features: dict[str, Any] = system_features(
            self.behaviour.modern_shapes, cloud
        )
        self.book = AccountBook(
            email_code_ttl=email_code_ttl, fold_case=self.behaviour.folds_email_case
        )
        limit, window = self.behaviour.email_code_sends
        self.email_code_limit: int = limit
        self.email_code_window: float = window
        self.issuer = TokenIssuer(ttl=access_ttl, issuer=self.behaviour.issuer)
        self.refresh_tokens = RefreshTokenStore()
        self.apps = AppStore(self)

        self.setup_done = False
        self.setup_at: float | None = None
        self._account: Account | None = None
        self._init_sessions: set[str] = set()
        if setup_done or cloud:
            self.complete_setup(DEFAULT_EMAIL, DEFAULT_NAME, DEFAULT_PASSWORD)

        self.counts: Counter[str] = Counter()
        self.requests: list[ReceivedRequest] = []
        self._faults: list[_PendingFault] = []
        self._lock = threading.RLock()
        self._released = threading.Event()

        self._port = port
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self._tls_dir: Path | None = None
        self.ca_bundle: str | None = None

    # Lifecycle

    def start(self) -> FakeDify:
        """Listen on 127.0.0.1 (a free port unless one was given) in a thread."""
        if self._httpd is not None:
            return self
        httpd = _Server(("127.0.0.1", self._port), _Handler, self)
        if self.https:
            httpd.socket = self._tls_context().wrap_socket(
                httpd.socket, server_side=True, do_handshake_on_connect=False
            )
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fake-dify-{self.generation}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, release held requests and drop open connections."""
        self._released.set()
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.shutdown()
            httpd.close_connections()
            httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._tls_dir is not None:
            shutil.rmtree(self._tls_dir, ignore_errors=True)
            self._tls_dir = None

    def __enter__(self) -> FakeDify:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the fake Dify server is not running")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        scheme = "https" if self.https else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def _tls_context(self) -> ssl.SSLContext:
        # Imported here so that only the HTTPS variant pays for it.
        import trustme

        ca = trustme.CA()
        certificate = ca.issue_cert("127.0.0.1", "localhost")
        self._tls_dir = Path(tempfile.mkdtemp(prefix="fake-dify-tls-"))
        bundle = self._tls_dir / "ca.pem"
        ca.cert_pem.write_to_path(str(bundle))
        self.ca_bundle = str(bundle)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        certificate.configure_cert(context)
        return context

    # Accounts

    @property
    def account(self) -> Account:
        """The account made at setup: admin@example.com unless setup said else."""
        if self._account is None:
            raise RuntimeError("no account yet: POST /console/api/setup first")
        return self._account

    def add_account(
        self,
        email: str,
        password: str | None = None,
        name: str | None = None,
        workspaces: list[str] | None = None,
        banned: bool = False,
    ) -> Account:
        """Add a user. password None: email code only, like a Cloud account made
        through GitHub or Google. workspaces: names (default one, [] none)."""
        with self._lock:
            return self.book.add(
                email, password, name or email.partition("@")[0], workspaces, banned
            )

    def add_workspace(self, account: Account, name: str) -> Workspace:
        with self._lock:
            return self.book.add_workspace(account, name)

    def freeze_email(self, email: str) -> None:
        """Cloud only: the email was deleted recently and is refused for 30 days."""
        self.book.frozen_emails.add(email.lower())

    def complete_setup(self, email: str, name: str, password: str) -> Account:
        account = self.book.add(email, password, name)
        self._account = self._account or account
        self.setup_done = True
        self.setup_at = time.time()
        return account

    def new_init_session(self) -> str:
        session = secrets.token_urlsafe(24)
        self._init_sessions.add(session)
        return session

    def init_validated(self, request: Request) -> bool:
        return request.cookies.get("session") in self._init_sessions

    def cookie_name(self, name: str) -> str:
        """Secure servers without a cookie domain prefix every name `__Host-`."""
        return f"__Host-{name}" if self.https else name

    # Email codes

    @property
    def mailbox(self) -> list[Mail]:
        return self.book.mailbox

    def last_code(self, email: str) -> str:
        return self.book.last_code(email)

    @property
    def email_code_sends(self) -> tuple[int, float]:
        return self.email_code_limit, self.email_code_window

    @property
    def email_code_ttl(self) -> float:
        return self.book.email_code_ttl

    @email_code_ttl.setter
    def email_code_ttl(self, seconds: float) -> None:
        self.book.email_code_ttl = seconds

    # Test hooks

    def count(self, method: str, path: str) -> int:
        """How many `method` requests reached `path` (no query; the
        /console/api prefix may be left out)."""
        return self.counts[f"{method.upper()} {_full_path(path)}"]

    def reset_counts(self) -> None:
        """Forget the requests received so far: counts and log."""
        with self._lock:
            self.counts.clear()
            self.requests.clear()

    def fail_next(self, n: int, fault: Fault, path: str | None = None) -> None:
        """Make the next `n` requests (to `path` only, if given) fail with
        `fault`. A failed request is counted and logged but not handled."""
        with self._lock:
            self._faults.append(
                _PendingFault(fault, n, None if path is None else _full_path(path))
            )

    def expire_access_tokens(self) -> None:
        """Every access and CSRF token issued so far now answers as expired.

        Tokens are plain JWTs: one issued again for the same account within the
        same second is the same string, and is live again.
        """
        with self._lock:
            self.issuer.expire_all()

    # Serving

    def _receive(
        self, method: str, target: str, headers: list[tuple[str, str]], body: bytes
    ) -> Fault | None:
        """Log and count a request; return the fault it should get, if any."""
        path = urlsplit(target).path
        with self._lock:
            self.counts[f"{method} {path}"] += 1
            self.requests.append(
                ReceivedRequest(
                    method, target, dict(headers), body.decode("utf-8", "replace")
                )
            )
            for pending in self._faults:
                if pending.path is None or pending.path == path:
                    pending.remaining -= 1
                    if pending.remaining <= 0:
                        self._faults.remove(pending)
                    return pending.fault
        return None

    def _answer(self, request: Request) -> Response:
        with self._lock:
            return dispatch(self, request)

    def _wait_released(self) -> None:
        self._released.wait(self.timeout_hold)


def _contract(
    generation: Generation | None, version: str | None
) -> tuple[Generation, str]:
    """The generation and version a fake runs, one derived from the other."""
    if generation is not None and generation not in GENERATIONS:
        raise ValueError(f"generation must be one of {', '.join(GENERATIONS)}")
    if not version:
        chosen = generation or "modern"
        return chosen, DEFAULT_VERSIONS[chosen]
    spoken = generation_of(version)
    if generation is not None and generation != spoken:
        # A fake that mixed them would answer as no real release does.
        raise ValueError(
            f"Dify {version} speaks the {spoken} generation, not {generation}: "
            f"drop one of them, or pick a {generation} version"
        )
    return spoken, version


def _full_path(path: str) -> str:
    path = urlsplit(path).path
    return path if path.startswith(PREFIX + "/") else PREFIX + "/" + path.lstrip("/")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        fake: FakeDify,
    ) -> None:
        self.fake = fake
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, handler)

    def track(self, connection: socket.socket, open_: bool) -> None:
        with self._connections_lock:
            if open_:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that hang up or fail the TLS handshake are part of the tests.
        return


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def version_string(self) -> str:
        return "gunicorn"

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)
        if isinstance(self.connection, ssl.SSLSocket):
            try:
                self.connection.do_handshake()
            except (OSError, ssl.SSLError):
                self.server.track(self.connection, False)
                raise

    def finish(self) -> None:
        self.server.track(self.connection, False)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = list(self.headers.items())
        fake = self.server.fake

        fault = fake._receive(self.command, self.path, headers, body)
        if fault is not None:
            self._fail(fault, fake)
            return
        request = Request(
            self.command, self.path, headers, body, self.client_address[0]
        )
        self._send(fake._answer(request), fake)

    def _send(self, response: Response, fake: FakeDify, dify: bool = True) -> None:
        payload = response.payload()
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in response.headers:
            self.send_header(name, value)
        if dify:
            self.send_header("X-Version", fake.version)
            self.send_header("X-Env", "PRODUCTION")
        self.end_headers()
        self.wfile.write(payload)

    def _fail(self, fault: Fault, fake: FakeDify) -> None:
        if fault is Fault.SERVER_ERROR:
            body = {
                "code": "internal_server_error",
                "message": DESCRIPTIONS[500],
                "status": 500,
            }
            self._send(Response(500, body), fake)
        elif fault is Fault.BAD_GATEWAY_HTML:
            page = Response(502, raw=BAD_GATEWAY_PAGE, content_type="text/html")
            self.close_connection = True
            self._send(page, fake, dify=False)
        elif fault is Fault.SERVER_ERROR_HTML:
            page = Response(500, raw=SERVER_ERROR_PAGE, content_type="text/html")
            self._send(page, fake)
        elif fault is Fault.WEB_PAGE:
            page = Response(200, raw=WEB_CONSOLE_PAGE, content_type="text/html")
            self._send(page, fake, dify=False)
        elif fault is Fault.TRUNCATED_JSON:
            self._send(Response(200, raw=b'{"result":"success","da'), fake)
        elif fault is Fault.TIMEOUT:
            fake._wait_released()
            self.close_connection = True
        elif fault is Fault.RESET:
            self.close_connection = True
            self._reset()

    def _reset(self) -> None:
        # Linger 0 makes close() send RST instead of FIN; closing the
        # descriptor right away keeps the usual shutdown(FIN) from going first.
        connection = self.connection
        with contextlib.suppress(OSError):
            connection.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
            )
            socket.socket(fileno=connection.detach()).close()
