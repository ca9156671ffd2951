"""Requests, responses and error bodies in the shapes Dify's console API uses."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

if TYPE_CHECKING:
    from tests.fake_dify.accounts import Account

EPOCH = "Thu, 01 Jan 1970 00:00:00 GMT"

# The werkzeug description of each status, which errors outside Dify's own
# classes carry as their message.
DESCRIPTIONS = {
    403: "You don't have the permission to access the requested resource. "
    "It is either read-protected or not readable by the server.",
    404: "The requested URL was not found on the server. If you entered the URL "
    "manually please check your spelling and try again.",
    405: "The method is not allowed for the requested URL.",
    500: "The server encountered an internal error and was unable to complete "
    "your request. Either the server is overloaded or there is an error in the "
    "application.",
}

# fastopenapi keeps only the status: its error type and the werkzeug name.
FASTOPENAPI_ERRORS = {
    400: ("bad_request", "Bad Request"),
    401: ("authentication_error", "Unauthorized"),
    403: ("authorization_error", "Forbidden"),
    404: ("resource_not_found", "Not Found"),
    422: ("validation_error", "Unprocessable Entity"),
}


@dataclass
class Request:
    """One request as a route handler sees it."""

    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes
    client_ip: str
    params: dict[str, str] = field(default_factory=dict)
    account: Account | None = None

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, str]:
        return dict(parse_qsl(urlsplit(self.target).query, keep_blank_values=True))

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    @property
    def cookies(self) -> dict[str, str]:
        jar: dict[str, str] = {}
        for key, value in self.headers:
            if key.lower() != "cookie":
                continue
            for pair in value.split(";"):
                name, sep, cookie = pair.strip().partition("=")
                if sep and name not in jar:
                    jar[name] = cookie
        return jar

    def json(self) -> dict[str, Any]:
        """The JSON object in the body; an empty object if there is none."""
        if not self.body.strip():
            return {}
        try:
            data = json.loads(self.body)
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}


@dataclass
class Response:
    status: int
    body: Any = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    raw: bytes | None = None
    content_type: str = "application/json"

    def payload(self) -> bytes:
        if self.raw is not None:
            return self.raw
        return json.dumps(self.body, separators=(",", ":")).encode() + b"\n"

    def set_cookie(
        self, name: str, value: str, max_age: int, httponly: bool, secure: bool
    ) -> None:
        """Add a Set-Cookie header with werkzeug's attribute order."""
        expires = formatdate(time.time() + max_age, usegmt=True)
        parts = [f"{name}={value}", f"Expires={expires}", f"Max-Age={max_age}"]
        self._add_cookie(parts, httponly, secure)

    def clear_cookie(self, name: str, httponly: bool, secure: bool) -> None:
        self._add_cookie([f"{name}=", f"Expires={EPOCH}"], httponly, secure)

    def _add_cookie(self, parts: list[str], httponly: bool, secure: bool) -> None:
        if secure:
            parts.append("Secure")
        if httponly:
            parts.append("HttpOnly")
        parts += ["Path=/", "SameSite=Lax"]
        self.headers.append(("Set-Cookie", "; ".join(parts)))


class ApiError(Exception):
    """An error answered as `{"code", "message", "status"}`, or in fastopenapi's
    shape on the routes it serves from 1.12."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def response(self, fastopenapi: bool) -> Response:
        if fastopenapi:
            kind, name = FASTOPENAPI_ERRORS.get(self.status, ("http_error", "Error"))
            error = {"type": kind, "message": name, "status": self.status}
            return Response(self.status, {"error": error})
        body = {"code": self.code, "message": self.message, "status": self.status}
        response = Response(self.status, body)
        if self.status == 401:
            response.headers.append(("WWW-Authenticate", 'Bearer realm="api"'))
        return response


class InvalidInput(Exception):
    """A request body or query that fails validation.

    Each server generation reports it differently: flask-restx's reqparse
    (`{"errors": {...}}`), a pydantic `invalid_param`, or a fastopenapi 422.
    """

    def __init__(
        self, model: str, where: str, errors: dict[str, str], pydantic: str
    ) -> None:
        super().__init__(pydantic)
        self.model = model
        self.where = where
        self.errors = errors
        self.pydantic = pydantic


def missing(model: str, where: str, *names: str) -> InvalidInput:
    """Required fields absent from the JSON body ("json") or query ("query")."""
    location = "JSON body" if where == "json" else "query string"
    errors = dict.fromkeys(names, f"Missing required parameter in the {location}")
    plural = "s" if len(names) > 1 else ""
    lines = [f"{len(names)} validation error{plural} for {model}"]
    for name in names:
        lines += [
            name,
            "  Field required [type=missing, input_value={}, input_type=dict]",
            "    For further information visit "
            "https://errors.pydantic.dev/{pydantic}/v/missing",
        ]
    return InvalidInput(model, where, errors, "\n".join(lines))


def invalid_email(model: str, value: str) -> InvalidInput:
    message = f"{value} is not a valid email."
    pydantic = (
        f"1 validation error for {model}\nemail\n  Value error, {message} "
        f"[type=value_error, input_value='{value}', input_type=str]\n"
        "    For further information visit "
        "https://errors.pydantic.dev/{pydantic}/v/value_error"
    )
    return InvalidInput(model, "json", {"email": message}, pydantic)


def invalid_input_response(
    error: InvalidInput, style: str, pydantic_version: str
) -> Response:
    """Render a validation failure in one of "reqparse", "pydantic", "fastopenapi"."""
    if style == "reqparse":
        body = {"errors": error.errors, "message": "Input payload validation failed"}
        return Response(400, body)
    if style == "fastopenapi":
        message = f"Validation error for parameter '{error.where}'"
        if error.where == "json":
            message = "Validation error for parameter 'body'"
        body = {
            "error": {
                "type": "validation_error",
                "message": message,
                "status": 422,
                "details": message,
            }
        }
        return Response(422, body)
    message = error.pydantic.replace("{pydantic}", pydantic_version)
    return Response(400, {"code": "invalid_param", "message": message, "status": 400})
