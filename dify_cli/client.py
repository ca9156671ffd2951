"""The console API client: every HTTP request to a server's /console/api goes here."""

from __future__ import annotations

import base64
import binascii
import json
import logging
import math
import os
import re
import stat
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from dify_cli import logs
from dify_cli.errors import (
    ApiError,
    AuthError,
    ConfigError,
    DifyError,
    NetworkError,
    RateLimitError,
    UsageError,
    sentence,
)
from dify_cli.versions import Generation, encodes_secrets, generation_for

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    import requests

log = logging.getLogger(__name__)

API_PREFIX = "/console/api"
DEFAULT_TIMEOUT = 30.0

# The most of an answer body that is read: far above any DSL export or app
# list, and far below what would exhaust memory.
MAX_ANSWER_BYTES = 64 * 1024 * 1024
_READ_CHUNK = 64 * 1024
COOKIE_PREFIX = "__Host-"
TOKEN_KINDS = ("access_token", "refresh_token", "csrf_token")

# 401 messages after which one renewal with the refresh token is worth trying.
EXPIRED = "Token has expired."
CSRF_INVALID = "CSRF token is missing or invalid."

_insecure_warned: set[str] = set()

# Statuses a gateway answers when the server behind it is down or too slow.
UNAVAILABLE = frozenset({502, 503, 504})

# Login settings every Dify release reports in system-features; an answer
# without them comes from something else that happens to speak JSON.
DIFY_FEATURES = ("sso_enforced_for_signin", "enable_email_password_login")

# What requests reads for the CA bundle when none is given, first set one first.
CA_BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")

# OpenSSL takes a certificate under any of these PEM labels.
_PEM_CERTIFICATE = re.compile(rb"-----BEGIN (?:TRUSTED |X509 )?CERTIFICATE-----")

# Line breaks and other control characters would end a header early, or let a
# value smuggle in a header of its own; a tab is allowed inside a value.
_NOT_IN_HEADER = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


@dataclass
class Credentials:
    """The tokens of one console session, and the cookie names they travel under.

    ``cookie_names`` maps each kind (``access_token``, ``refresh_token``,
    ``csrf_token``) to the exact name the server set, ``__Host-`` prefix
    included; an empty mapping means the names are unknown (a pasted token),
    and both spellings are sent. ``headers`` are further headers the session's
    auth method sends on every authenticated request (an API key, say); they
    go after the token headers and replace any of the same name.
    """

    access_token: str | None = None
    refresh_token: str | None = None
    csrf_token: str | None = None
    cookie_names: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    def register_secrets(self) -> None:
        for value in (self.access_token, self.refresh_token, self.csrf_token):
            logs.add_secret(value)
        for value in self.headers.values():
            logs.add_secret(value)


class SessionRejected(AuthError):
    """The server refused the session's access token with a 401.

    ``renewable`` is true when the refresh token may fix it: the access token
    (or the CSRF token) expired.
    """

    def __init__(
        self, message: str, *, renewable: bool, hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.renewable = renewable


class EmailCodeRejected(AuthError):
    """The server refused an email code; ``token_spent`` when a new one is needed."""

    def __init__(
        self, message: str, *, token_spent: bool, hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.token_spent = token_spent


class RefreshRejected(AuthError):
    """The server refused the refresh token: the session cannot be renewed."""


@dataclass
class Reply:
    """One answer from the console API, decoded."""

    status: int
    body: Any
    set_cookies: dict[str, str]
    version: str | None

    @property
    def code(self) -> str | None:
        if isinstance(self.body, dict) and isinstance(self.body.get("code"), str):
            return str(self.body["code"])
        return None

    @property
    def message(self) -> str:
        """The server's message, first line only, with anything secret masked."""
        first = self._text().strip().splitlines()
        return logs.redact(first[0])[:300] if first else ""

    @property
    def full_message(self) -> str:
        """The whole message on one line, with anything secret masked."""
        return logs.redact(" ".join(self._text().split()))[:300]

    def _text(self) -> str:
        text = ""
        if isinstance(self.body, dict):
            for key in ("message", "data", "error"):
                value = self.body.get(key)
                if isinstance(value, dict):
                    value = value.get("message")
                if isinstance(value, str) and value:
                    text = value
                    break
        return text


_HTTP_VERSIONS = {10: "HTTP/1.0", 11: "HTTP/1.1", 20: "HTTP/2"}


@dataclass
class RawReply:
    """One answer exactly as received: status line, headers in order, body bytes."""

    status: int
    reason: str
    http_version: str
    headers: list[tuple[str, str]]
    content: bytes

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def json(self) -> Any:
        """The body decoded as JSON, or None when it is empty or not JSON."""
        try:
            return decode_json(self.content.decode("utf-8"))
        except ValueError:
            return None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def decode_json(text: str) -> Any:
    """``text`` read as strict JSON; ValueError for anything else.

    Python's reader also takes NaN and Infinity, which no JSON reader further
    down a pipe would, and gives up on deep nesting with a RecursionError.
    """
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise ValueError("the JSON is nested too deeply") from None


def jwt_expiry(token: str | None) -> float | None:
    """The ``exp`` claim of a JWT, read without checking its signature."""
    if not token or token.count(".") != 2:
        return None
    payload = token.split(".")[1]
    try:
        claims = json.loads(
            base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        )
    except (ValueError, binascii.Error):
        return None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    if isinstance(exp, bool) or not isinstance(exp, (int, float)):
        return None
    try:
        seconds = float(exp)
    except OverflowError:
        return None
    # Python's JSON reader allows NaN and Infinity; neither is an expiry.
    return seconds if math.isfinite(seconds) else None


_NOT_TEXT = "it is not valid text (it holds bytes that are not UTF-8)"


def is_text(value: str) -> bool:
    """Whether ``value`` is text UTF-8 can carry.

    Bytes that did not decode (in an environment variable, an argument or
    standard input) become lone surrogates, which no request can carry.
    """
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def checked_text(value: str, what: str) -> str:
    """``value`` if it is valid text, else a UsageError that names only ``what``."""
    if is_text(value):
        return value
    raise UsageError(
        f"The {what} cannot be used: {_NOT_TEXT}.",
        hint="Check the terminal's or the variable's character encoding.",
    )


def texts_in(body: Any) -> list[str]:
    """Every string in a JSON-like value, keys included."""
    if isinstance(body, str):
        return [body]
    if isinstance(body, dict):
        return [text for item in body.items() for text in texts_in(item)]
    if isinstance(body, (list, tuple)):
        return [text for item in body for text in texts_in(item)]
    return []


def header_value_problem(value: str) -> str | None:
    """Why ``value`` cannot be sent as an HTTP header value, or None if it can."""
    problem = line_problem(value)
    if problem is not None:
        return problem
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return "it contains characters an HTTP header cannot carry"
    return None


def line_problem(value: str) -> str | None:
    """Why ``value`` is not one line of text, or None if it is."""
    if not is_text(value):
        return _NOT_TEXT
    if _NOT_IN_HEADER.search(value):
        return "it contains a line break or another control character"
    return None


def checked_ca_bundle(path: Path, source: str | None = None) -> str:
    """``path`` as requests takes it, if it can be a CA bundle; ConfigError if not.

    A CA bundle is a file holding PEM certificates or a folder of hashed
    certificates (as ``c_rehash`` makes them). Only the PEM label is looked
    for: OpenSSL checks the certificates themselves when connecting.
    ``source`` names where the path came from, such as an environment variable.
    """
    origin = f" (from {source})" if source else ""
    hint = (
        "Give a PEM file with your CA's certificate, or a folder of hashed "
        "certificates."
    )
    try:
        mode = path.stat().st_mode
        if stat.S_ISDIR(mode):
            return str(path)
        if not stat.S_ISREG(mode):
            # Reading a FIFO would wait for a writer that never comes.
            raise ConfigError(f"CA bundle {path}{origin} is not a file.", hint=hint)
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"CA bundle not found: {path}{origin}.", hint=hint) from None
    except OSError as error:
        raise ConfigError(
            f"Cannot read the CA bundle {path}{origin}: {error.strerror or error}."
        ) from None
    if not _PEM_CERTIFICATE.search(data):
        raise ConfigError(
            f"CA bundle {path}{origin} holds no PEM certificate "
            "(no -----BEGIN CERTIFICATE----- line).",
            hint=hint,
        )
    return str(path)


def encode_secret(value: str) -> str:
    """Base64 of the UTF-8 bytes, as servers from 1.11.2 want password and code."""
    checked_text(value, "secret")
    encoded = base64.b64encode(value.encode("utf-8")).decode("ascii")
    logs.add_secret(encoded)
    return encoded


class ConsoleClient:
    """A client for one server's console API, over one ``requests.Session``.

    It learns the server version from ``system-features`` (or is told it, from a
    stored session), chooses the login contract from it, keeps the session's
    tokens and sends them the way that contract wants. No cookie jar is used:
    the ``Cookie`` header is built here, because a jar would withhold
    ``__Host-`` and ``Secure`` cookies from plain http or from another host
    name for the same server.
    """

    def __init__(
        self,
        server: str,
        *,
        verify_tls: bool = True,
        ca_bundle: str | Path | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
        version: str | None = None,
        generation: Generation | None = None,
    ) -> None:
        self.server = server.rstrip("/")
        self.timeout = float(timeout or DEFAULT_TIMEOUT)
        self.version = version
        self.generation: Generation = generation or generation_for(version)
        self.features: dict[str, Any] | None = None
        self.credentials = Credentials()
        self.requests_sent = 0
        # The X-Version of the latest answer: a stored session's version may
        # be out of date after the server was upgraded.
        self.seen_version: str | None = None
        self._verify = self._tls_setting(verify_tls, ca_bundle)
        self._session: requests.Session | None = None

    @property
    def _http(self) -> requests.Session:
        # Importing requests takes longer than the rest of a command; a client
        # that never sends (a token still fresh, an offline status) skips it.
        if self._session is None:
            import http.cookiejar

            import requests

            if self._verify is False:
                import urllib3

                # urllib3 would warn on every request; the line of our own
                # written when the client was made is enough.
                urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
            self._session = requests.Session()
            self._session.cookies.set_policy(
                http.cookiejar.DefaultCookiePolicy(allowed_domains=[])
            )
        return self._session

    def _tls_setting(
        self, verify_tls: bool, ca_bundle: str | Path | None
    ) -> bool | str:
        if not verify_tls:
            self._warn_unverified()
            return False
        if not self.server.startswith("https://"):
            # Plain http has no certificate to check: a CA bundle kept in the
            # profile for another server does not stand in the way.
            return True
        if ca_bundle:
            return checked_ca_bundle(Path(ca_bundle).expanduser())
        # requests reads these for https when given no bundle; a broken one
        # would fail only once the request is on its way.
        name = next((n for n in CA_BUNDLE_VARIABLES if os.environ.get(n)), None)
        if name is not None:
            checked_ca_bundle(Path(os.environ[name]), name)
        return True

    def _warn_unverified(self) -> None:
        if self.server.startswith("https://") and self.server not in _insecure_warned:
            _insecure_warned.add(self.server)
            sys.stderr.write(
                f"warning: TLS certificate verification is off for {self.server}; "
                "anyone on the network path can read and change this traffic.\n"
            )

    def close(self) -> None:
        if self._session is not None:
            self._session.close()

    # -- transport ---------------------------------------------------------

    def url(self, path: str) -> str:
        return f"{self.server}{API_PREFIX}/{path.lstrip('/')}"

    def send(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: Mapping[str, Any] | None = None,
        auth: bool = True,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """Send one request and decode the answer, without judging its status.

        Failures to reach the server, TLS failures and answers that are not
        Dify's JSON become NetworkError here; what a status means is up to the
        caller (see ``request``).
        """
        url = self.url(path)
        for text in texts_in(json_body):
            # A field may be a secret: the error does not show it.
            checked_text(text, "request body")
        response, raw_body = self._exchange(
            method, url, auth, headers, json=json_body, params=params
        )
        return self._decode(method, url, response, raw_body)

    def send_raw(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | Sequence[tuple[str, str]] | None = None,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        auth: bool = True,
    ) -> RawReply:
        """Send one request and return the answer as received, whatever it is.

        Unlike ``send``, nothing is decoded or judged: any status, redirects
        and non-JSON bodies included. Only failing to get an answer raises.
        """
        url = self.url(path)
        response, raw_body = self._exchange(
            method, url, auth, headers, data=data, params=params
        )
        raw_headers = getattr(response.raw, "headers", None)
        if raw_headers is not None and hasattr(raw_headers, "items"):
            pairs = [(str(k), str(v)) for k, v in raw_headers.items()]
        else:
            pairs = list(response.headers.items())
        version = getattr(response.raw, "version", 11)
        return RawReply(
            status=response.status_code,
            reason=response.reason or "",
            http_version=_HTTP_VERSIONS.get(version, "HTTP/1.1"),
            headers=pairs,
            content=raw_body,
        )

    def _exchange(
        self,
        method: str,
        url: str,
        auth: bool,
        headers: Mapping[str, str] | None,
        **kwargs: Any,
    ) -> tuple[requests.Response, bytes]:
        import requests

        all_headers = {"Accept": "application/json"}
        if auth:
            all_headers.update(self.auth_headers())
        all_headers.update(headers or {})
        for name, value in all_headers.items():
            problem = header_value_problem(value)
            if problem is not None:
                # The value may be a secret: name the header only.
                raise UsageError(f"The {name} header cannot be sent: {problem}.")
        self.requests_sent += 1
        started = time.monotonic()
        exchange = _Exchange(
            lambda: self._http.request(
                method,
                url,
                headers=all_headers,
                timeout=self.timeout,
                verify=self._verify,
                allow_redirects=False,
                stream=True,
                **kwargs,
            )
        )
        try:
            response, raw_body = exchange.within(self.timeout)
        except requests.exceptions.RequestException as error:
            log.debug(logs.redact(f"{method} {url} failed: {error!r}"))
            raise self._transport_error(error) from None
        except OSError as error:
            # requests raises plain OSError for TLS files it cannot find.
            log.debug(logs.redact(f"{method} {url} failed: {error!r}"))
            raise self._local_error(error) from None
        except _AnswerTooSlow:
            log.debug(f"{method} {url}: no complete answer in {self.timeout:g}s")
            # The abandoned request goes on in its thread: later requests get a
            # session of their own rather than share its connection pool.
            self._session = None
            if exchange.answering:
                raise NetworkError(
                    f"{self.server} did not finish answering within "
                    f"{self.timeout:g} s.",
                    hint="Check the network, or raise the profile's timeout.",
                ) from None
            raise self._timed_out() from None
        except _AnswerTooLarge:
            log.debug(f"{method} {url}: answer over {MAX_ANSWER_BYTES} bytes")
            raise NetworkError(
                f"{self.server} answered more than {_size(MAX_ANSWER_BYTES)}; "
                "the answer was dropped.",
                hint="Check the server URL; a Dify API answer is never that large.",
            ) from None
        shown = logs.shown_headers(all_headers)
        log.debug(
            logs.redact(
                f"{method} {url} -> {response.status_code} "
                f"in {time.monotonic() - started:.3f}s; sent headers {shown}"
            )
        )
        return response, raw_body

    def _timed_out(self) -> NetworkError:
        return NetworkError(
            f"{self.server} did not answer within {self.timeout:g} s.",
            hint="Check the URL and the network, or raise the profile's timeout.",
        )

    def session_refusal(self, status: int, body: Any) -> SessionRejected | None:
        """The refusal a 401 answer means for the session, if it is one.

        Its ``renewable`` says whether renewing with the refresh token may help.
        """
        reply = Reply(status, body, {}, None)
        if status != 401:
            return None
        error = self._rejected(reply)
        return error if isinstance(error, SessionRejected) else None

    def _local_error(self, error: OSError) -> DifyError:
        text = error.strerror or str(error)
        if "TLS" in text or "certificate" in text.lower():
            return ConfigError(
                f"Cannot use the TLS settings for {self.server}: {text}.",
                hint="Check the CA bundle and certificate paths.",
            )
        return NetworkError(f"Cannot reach {self.server}: {text}.")

    def _transport_error(
        self, error: requests.exceptions.RequestException
    ) -> DifyError:
        import requests

        host = urlsplit(self.server).hostname or self.server
        text = str(error)
        if isinstance(error, requests.exceptions.SSLError):
            reason = "its certificate is not trusted"
            if "hostname" in text.lower() or "doesn't match" in text:
                reason = "its certificate is for another host name"
            elif "CERTIFICATE_VERIFY_FAILED" not in text:
                reason = "the TLS handshake failed"
            return NetworkError(
                f"Cannot connect securely to {self.server}: {reason}.",
                hint="Pass --ca-bundle PATH to trust your CA, "
                "or --insecure to skip verification.",
            )
        if isinstance(error, requests.exceptions.Timeout) or _read_timed_out(error):
            return self._timed_out()
        if isinstance(
            error,
            (
                requests.exceptions.ChunkedEncodingError,
                requests.exceptions.ContentDecodingError,
            ),
        ):
            return NetworkError(
                f"The answer from {self.server} was cut off.",
                hint="Try again; if it persists, check any proxy in between.",
            )
        if isinstance(error, requests.exceptions.ProxyError):
            return NetworkError(f"Cannot reach {self.server} through the proxy.")
        if isinstance(error, requests.exceptions.InvalidURL):
            variable = self._proxy_variable()
            if variable is not None and (
                isinstance(error, requests.exceptions.InvalidProxyURL)
                or _parses(self.server)
            ):
                # Its value may hold the proxy's password: name the variable only.
                return ConfigError(
                    f"The proxy URL in ${variable} is not valid.",
                    hint=f"Fix or unset {variable}.",
                )
            return ConfigError(f"Not a valid server URL: {self.server}")
        lowered = text.lower()
        if any(
            marker in lowered
            for marker in (
                "name or service not known",
                "nodename nor servname",
                "getaddrinfo failed",
                "nameresolutionerror",
                "failed to resolve",
                "temporary failure in name resolution",
                "no address associated",
            )
        ):
            return NetworkError(f"Cannot resolve the host name {host}.")
        if "refused" in lowered:
            return NetworkError(f"Cannot connect to {self.server}: connection refused.")
        if "reset" in lowered or "aborted" in lowered or "disconnected" in lowered:
            return NetworkError(
                f"{self.server} closed the connection without answering."
            )
        return NetworkError(f"Cannot reach {self.server}.")

    def _proxy_variable(self) -> str | None:
        """The environment variable that sets a proxy for the server, if any."""
        from requests.utils import should_bypass_proxies

        scheme = urlsplit(self.server).scheme
        if should_bypass_proxies(self.server, no_proxy=None):
            return None
        for name in (f"{scheme}_proxy", "all_proxy"):
            for spelled in (name, name.upper()):
                if os.environ.get(spelled):
                    return spelled
        return None

    def _decode(
        self, method: str, url: str, response: requests.Response, raw_body: bytes
    ) -> Reply:
        status = response.status_code
        version = (response.headers.get("X-Version") or "").strip() or None
        content_type = response.headers.get("Content-Type", "").lower()
        if 300 <= status < 400:
            location = response.headers.get("Location", "")
            hint = None
            if location.startswith("https://") and self.server.startswith("http://"):
                hint = "The server redirects to https: use the https:// URL."
            raise NetworkError(
                f"{url} redirects elsewhere ({status}); "
                "the server URL does not look like a Dify API.",
                hint=hint or "Give the address the console API is served at.",
            )
        text = raw_body.decode("utf-8", errors="replace")
        stripped = text.lstrip()
        if "html" in content_type or stripped.startswith("<"):
            if status >= 500:
                # A proxy's error page, or a crash page: the status says it all.
                raise server_error(self.server, status, None)
            raise NetworkError(
                f"{self.server} answered {method} {API_PREFIX}/... with an HTML page "
                f"(status {status}): the server URL does not look like a Dify API.",
                hint="Check the URL; a proxy or the web console may be answering "
                "instead of the API.",
            )
        body: Any = None
        if stripped:
            try:
                body = decode_json(text)
            except ValueError:
                if status >= 500:
                    raise server_error(self.server, status, None) from None
                raise NetworkError(
                    f"{self.server} answered with incomplete or invalid JSON.",
                    hint="Try again; if it persists, check any proxy in between.",
                ) from None
        if version:
            self.seen_version = version
        return Reply(status, body, _set_cookies(response), version)

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: Mapping[str, Any] | None = None,
        auth: bool = True,
    ) -> Any:
        """Send an authenticated request and return the decoded JSON body.

        Any status other than 2xx raises the DifyError that fits it.
        """
        reply = self.send(method, path, json_body=json_body, params=params, auth=auth)
        if reply.status >= 300:
            raise self.error_for(reply)
        return reply.body

    def error_for(self, reply: Reply) -> DifyError:
        """The DifyError that a non-2xx answer means, for any console route."""
        status, code, message = reply.status, reply.code, reply.message
        if code in ("not_setup", "not_init_validated"):
            return ConfigError(
                f"The Dify server at {self.server} has not been set up yet.",
                hint=f"Finish the setup in the web console ({self.server}/install) "
                "first.",
            )
        if status == 401 or code in ("unauthorized", "account_banned"):
            return self._rejected(reply)
        if status == 429:
            return RateLimitError(
                sentence(
                    f"The server refuses for now: {message or 'too many requests'}"
                )
            )
        if status >= 500:
            return server_error(self.server, status, message)
        if status == 404:
            return ApiError(
                sentence(f"Not found on the server: {message or 'no such resource'}"),
                status=status,
                code=code,
            )
        return ApiError(
            sentence(
                f"The server refused the request ({status}"
                f"{', ' + code if code else ''}): {message or 'no reason given'}"
            ),
            status=status,
            code=code,
        )

    def _rejected(self, reply: Reply) -> AuthError:
        message = reply.message
        if "banned" in message.lower() or reply.code == "account_banned":
            return AuthError("This account is banned on the server.")
        if reply.code == "unauthorized_and_force_logout":
            return SessionRejected(
                "The server ended the session (its licence check failed).",
                renewable=False,
            )
        cookie_mode = self.generation != "legacy"
        renewable = message == EXPIRED or (cookie_mode and message == CSRF_INVALID)
        return SessionRejected(
            f"The server refused the session: {message or 'unauthorized'}",
            renewable=renewable,
        )

    # -- credentials -------------------------------------------------------

    def auth_headers(self) -> dict[str, str]:
        """The headers that present this session to the server."""
        return {**self._token_headers(), **self.credentials.headers}

    def _token_headers(self) -> dict[str, str]:
        creds = self.credentials
        if not creds.access_token:
            return {}
        if self.generation == "legacy":
            return {"Authorization": f"Bearer {creds.access_token}"}
        pairs = self._cookie_pairs("access_token", creds.access_token)
        if creds.csrf_token:
            pairs += self._cookie_pairs("csrf_token", creds.csrf_token)
        headers = {"Cookie": "; ".join(pairs)}
        if creds.csrf_token:
            headers["X-CSRF-Token"] = creds.csrf_token
        if not creds.cookie_names:
            # Unknown cookie names: the Bearer header is read when the cookie
            # under the guessed name is absent.
            headers["Authorization"] = f"Bearer {creds.access_token}"
        return headers

    def _cookie_pairs(self, kind: str, value: str) -> list[str]:
        name = self.credentials.cookie_names.get(kind)
        if name:
            return [f"{name}={value}"]
        return [f"{kind}={value}", f"{COOKIE_PREFIX}{kind}={value}"]

    def use(self, credentials: Credentials) -> None:
        credentials.register_secrets()
        self.credentials = credentials

    def _take_tokens(self, reply: Reply) -> Credentials:
        """Read the tokens a successful login or refresh handed out."""
        data = reply.body.get("data") if isinstance(reply.body, dict) else None
        if isinstance(data, dict) and data.get("access_token"):
            creds = Credentials(
                access_token=str(data["access_token"]),
                refresh_token=_str_or_none(data.get("refresh_token")),
            )
            self.generation = "legacy"
            creds.register_secrets()
            return creds
        names: dict[str, str] = {}
        values: dict[str, str] = {}
        for name, value in reply.set_cookies.items():
            kind = name.removeprefix(COOKIE_PREFIX)
            if kind in TOKEN_KINDS and value:
                names[kind] = name
                values[kind] = value
        if "access_token" not in values:
            raise ApiError(
                "The server accepted the login but handed out no tokens.",
                status=reply.status,
            )
        creds = Credentials(
            access_token=values["access_token"],
            refresh_token=values.get("refresh_token"),
            csrf_token=values.get("csrf_token"),
            cookie_names=names,
        )
        self.generation = "modern" if encodes_secrets(self.version) else "cookie"
        creds.register_secrets()
        return creds

    # -- the console routes this tool uses --------------------------------

    def probe(self) -> dict[str, Any]:
        """Learn the server version and login features (no login needed).

        The version comes from the ``X-Version`` header every answer carries;
        without it, the oldest contract is assumed until a login shows more.
        """
        reply = self.send("GET", "system-features", auth=False)
        if reply.status >= 300:
            if reply.status == 404:
                raise NetworkError(
                    f"{self.server} has no Dify console API "
                    f"({API_PREFIX}/system-features: 404).",
                    hint="Check the server URL.",
                )
            raise self.error_for(reply)
        if not isinstance(reply.body, dict) or not any(
            key in reply.body for key in DIFY_FEATURES
        ):
            raise NetworkError(
                f"{self.server} does not answer like a Dify console API "
                f"({API_PREFIX}/system-features has none of its login settings).",
                hint="Check the server URL.",
            )
        self.version = reply.version
        self.generation = generation_for(reply.version)
        if reply.version is None:
            log.debug("no X-Version header: assuming plain-text credentials")
        else:
            log.debug(
                "server version %s: %s generation", reply.version, self.generation
            )
        self.features = reply.body
        return reply.body

    def login_password(self, email: str, password: str) -> Credentials:
        """Log in with email and password; the tokens are kept and returned."""
        checked_text(password, "password")
        logs.add_secret(password)
        sent = encode_secret(password) if encodes_secrets(self.version) else password
        reply = self.send(
            "POST",
            "login",
            json_body={"email": email, "password": sent, "remember_me": True},
            auth=False,
        )
        return self._finish_login(reply, email)

    def send_email_code(self, email: str, language: str = "en-US") -> str:
        """Ask the server to mail a login code; returns the token that goes with it."""
        reply = self.send(
            "POST",
            "email-code-login",
            json_body={"email": email, "language": language},
            auth=False,
        )
        if reply.status >= 300:
            raise self._login_error(reply, email)
        data = reply.body.get("data") if isinstance(reply.body, dict) else None
        if not isinstance(data, str) or not data:
            raise ApiError(
                "The server did not confirm sending the code.", status=reply.status
            )
        logs.add_secret(data)
        return data

    def login_email_code(
        self, email: str, code: str, token: str, language: str = "en-US"
    ) -> Credentials:
        """Complete an email-code login; the tokens are kept and returned."""
        checked_text(code, "email code")
        checked_text(token, "email-code token")
        logs.add_secret(code)
        logs.add_secret(token)
        sent = encode_secret(code) if encodes_secrets(self.version) else code
        reply = self.send(
            "POST",
            "email-code-login/validity",
            json_body={
                "email": email,
                "code": sent,
                "token": token,
                "language": language,
            },
            auth=False,
        )
        return self._finish_login(reply, email)

    def _finish_login(self, reply: Reply, email: str) -> Credentials:
        if reply.status >= 300:
            raise self._login_error(reply, email)
        body = reply.body if isinstance(reply.body, dict) else {}
        if body.get("result") != "success":
            if body.get("code") == "account_not_found":
                raise _wrong_credentials()
            detail = reply.message or "no reason given"
            raise ApiError(
                f"The server accepted the credentials but refused the login: {detail}",
                status=reply.status,
                hint="Ask the server's administrator to give this account a workspace.",
            )
        creds = self._take_tokens(reply)
        self.credentials = creds
        return creds

    def _login_error(self, reply: Reply, email: str) -> DifyError:
        code, status, message = reply.code, reply.status, reply.message
        if code in ("authentication_failed", "email_or_password_mismatch"):
            if message == "Invalid encrypted data":
                return AuthError(
                    "The server could not decode the password: its version "
                    f"({self.version or 'unknown'}) does not match what it expects.",
                    hint="Report the server version with `dify status`.",
                )
            return _wrong_credentials()
        if code == "account_not_found":
            return AuthError(
                f"No account with the email {email} on this server.",
            )
        if code == "email_code_login_limit" or (
            status == 429 and "password" in message.lower()
        ):
            return RateLimitError(
                f"Too many failed logins for {email}: Dify locks an email for "
                "24 hours after 6 failures in a row.",
                hint="Wait, or ask an administrator to clear the lock; "
                "retrying now only extends it.",
            )
        if code == "email_code_login_rate_limit_exceeded":
            return RateLimitError(
                f"Too many login emails sent to {email}: the server allows 3 "
                "every 5 minutes.",
                hint="Wait 5 minutes, or use the last code you received.",
            )
        if code == "email_send_ip_limit":
            return RateLimitError(
                "Too many emails sent from this address; the server blocks it "
                "for a while.",
            )
        if code == "email_code_error":
            if "encrypted" in message.lower():
                return AuthError(
                    "The server could not decode the code: its version "
                    f"({self.version or 'unknown'}) does not match what it expects."
                )
            return EmailCodeRejected(
                "Wrong email code.",
                token_spent=False,
                hint="Check the code and try again; it stays valid for 5 minutes.",
            )
        if code == "invalid_or_expired_token":
            return EmailCodeRejected(
                "The email code has expired, was already used, or was replaced by "
                "a newer one.",
                token_spent=True,
                hint="Send a new code with `dify connect --method code`.",
            )
        if code == "invalid_email":
            return EmailCodeRejected(
                "The email does not match the one the code was sent to.",
                token_spent=False,
            )
        if code == "account_banned" or "banned" in message.lower():
            return AuthError(f"The account {email} is banned on this server.")
        if code == "account_in_freeze":
            return AuthError(
                f"The account {email} was deleted recently and cannot log in yet."
            )
        if status == 403 and reply.code in ("forbidden", None):
            return AuthError(
                "Password login is disabled on this server.",
                hint="Log in with `--method code` (email code) or "
                "`--method token` instead.",
            )
        errors = reply.body.get("errors") if isinstance(reply.body, dict) else None
        if code == "invalid_param" or (status == 400 and isinstance(errors, dict)):
            detail = reply.full_message
            if isinstance(errors, dict):
                # The older validation shape: one message per field.
                detail = logs.redact(
                    "; ".join(f"{key}: {value}" for key, value in errors.items())
                )[:300]
            if "password" in detail.lower():
                # Servers before 1.9 check the password's form on login: a
                # password that fails it cannot be the right one.
                return _wrong_credentials()
            return UsageError(f"The server refused the input: {detail}")
        return self.error_for(reply)

    def refresh(self) -> Credentials:
        """Trade the refresh token for new tokens; the old refresh token dies."""
        creds = self.credentials
        if not creds.refresh_token:
            raise RefreshRejected("The session has no refresh token.")
        if self.generation == "legacy":
            reply = self.send(
                "POST",
                "refresh-token",
                json_body={"refresh_token": creds.refresh_token},
                auth=False,
            )
        else:
            pairs = self._cookie_pairs("refresh_token", creds.refresh_token)
            reply = self.send(
                "POST",
                "refresh-token",
                auth=False,
                headers={"Cookie": "; ".join(pairs)},
            )
        if reply.status in (400, 401, 403):
            raise RefreshRejected(
                f"The server refused the refresh token: {reply.message or 'invalid'}"
            )
        if reply.status >= 300:
            raise self.error_for(reply)
        fresh = self._take_tokens(reply)
        # A refresh that does not hand out a new CSRF token leaves the old one
        # usable: it is tied to the account and its expiry only.
        fresh.csrf_token = fresh.csrf_token or creds.csrf_token
        for kind, name in creds.cookie_names.items():
            fresh.cookie_names.setdefault(kind, name)
        fresh.headers = dict(creds.headers)
        self.credentials = fresh
        return fresh

    def logout(self) -> None:
        """End the session on the server (GET before 1.9.2, POST after)."""
        method = "GET" if self.generation == "legacy" else "POST"
        self.request(method, "logout")

    def account_profile(self) -> dict[str, Any]:
        """The logged-in account; also the cheapest check that a session works."""
        body = self.request("GET", "account/profile")
        if not isinstance(body, dict) or "id" not in body:
            raise NetworkError(
                f"{self.server} answered account/profile in an unknown shape."
            )
        return body

    def workspaces(self) -> list[dict[str, Any]]:
        body = self.request("GET", "workspaces")
        items = body.get("workspaces") if isinstance(body, dict) else None
        return [item for item in items or [] if isinstance(item, dict)]

    def switch_workspace(self, workspace_id: str) -> dict[str, Any]:
        body = self.request(
            "POST", "workspaces/switch", json_body={"tenant_id": workspace_id}
        )
        tenant = body.get("new_tenant") if isinstance(body, dict) else None
        return tenant if isinstance(tenant, dict) else {"id": workspace_id}


class _AnswerTooSlow(Exception):
    """The whole answer did not arrive before the request's deadline."""


class _AnswerTooLarge(Exception):
    """The answer body is larger than MAX_ANSWER_BYTES."""


class _Exchange:
    """One request and the reading of its whole answer, bounded in time and size.

    The per-read timeout of requests restarts with every byte, so a server
    that trickles its answer would hold a command for ever; the exchange runs
    in a thread the caller stops waiting for at the deadline instead.
    """

    def __init__(self, start: Callable[[], requests.Response]) -> None:
        self._start = start
        self._done = threading.Event()
        self._result: tuple[requests.Response, bytes] | None = None
        self._error: BaseException | None = None
        # Set once the status line and headers are in.
        self.answering = False

    def within(self, seconds: float) -> tuple[requests.Response, bytes]:
        worker = threading.Thread(target=self._run, name="dify-request", daemon=True)
        worker.start()
        if not self._done.wait(seconds):
            raise _AnswerTooSlow
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result

    def _run(self) -> None:
        try:
            response = self._start()
            self.answering = True
            self._result = (response, _read_body(response))
        except BaseException as error:  # handed to the waiting thread
            self._error = error
        finally:
            self._done.set()


def _read_body(response: requests.Response) -> bytes:
    try:
        declared = int(response.headers.get("Content-Length") or 0)
    except ValueError:
        declared = 0
    try:
        if declared > MAX_ANSWER_BYTES:
            raise _AnswerTooLarge
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_content(_READ_CHUNK):
            size += len(chunk)
            if size > MAX_ANSWER_BYTES:
                raise _AnswerTooLarge
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        response.close()


def _size(count: int) -> str:
    if count >= 1024 * 1024:
        return f"{count / (1024 * 1024):g} MiB"
    return f"{count / 1024:g} KiB"


def _parses(url: str) -> bool:
    import urllib3

    try:
        urllib3.util.parse_url(url)
    except ValueError:
        return False
    return True


def _read_timed_out(error: Exception) -> bool:
    """Whether ``error`` is a read timeout in the middle of a body.

    requests reports those as a ConnectionError wrapping urllib3's error.
    """
    import urllib3

    reason = error.args[0] if error.args else None
    return isinstance(reason, urllib3.exceptions.ReadTimeoutError)


def _str_or_none(value: Any) -> str | None:
    return str(value) if value else None


def _wrong_credentials() -> AuthError:
    return AuthError(
        "Wrong email or password.",
        hint="Dify locks an email for 24 hours after 6 failures in a row.",
    )


def server_error(server: str, status: int, message: str | None) -> DifyError:
    """The error a 5xx answer stands for: the server unavailable (exit 5) for
    the statuses a gateway answers with, else an internal error (exit 1)."""
    detail = f": {message}" if message else ""
    if status in UNAVAILABLE:
        return NetworkError(
            sentence(f"{server} is unavailable ({status}){detail}"),
            hint="The server or a proxy in front of it is down; try again later.",
        )
    return ApiError(
        sentence(f"The server failed with an internal error ({status}){detail}"),
        status=status,
        hint="Try again; the server's logs say more.",
    )


def _set_cookies(response: requests.Response) -> dict[str, str]:
    """Name and value of every Set-Cookie header, exactly as the server spelled them."""
    raw_headers = getattr(response.raw, "headers", None)
    values: list[str] = []
    if raw_headers is not None and hasattr(raw_headers, "getlist"):
        values = list(raw_headers.getlist("Set-Cookie"))
    cookies: dict[str, str] = {}
    for header in values:
        pair = header.split(";", 1)[0]
        name, sep, value = pair.partition("=")
        if sep:
            cookies[name.strip()] = value.strip().strip('"')
    return cookies
