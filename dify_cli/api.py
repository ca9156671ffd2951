"""Any console API request built from command-line parts, and its answer shown."""

from __future__ import annotations

import json
import math
import re
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from dify_cli.client import (
    API_PREFIX,
    UNAVAILABLE,
    Reply,
    header_value_problem,
    is_text,
    server_error,
    texts_in,
)
from dify_cli.errors import (
    ApiError,
    AuthError,
    DifyError,
    NetworkError,
    UsageError,
    dify_command,
    sentence,
)
from dify_cli.inputs import read_file, read_stdin

if TYPE_CHECKING:
    from dify_cli.client import RawReply
    from dify_cli.connection import Connection

# First path segments of Dify's other APIs on the same host: the service API
# (/v1), the web app API (/api), the newer /openapi, and the internal API.
OTHER_APIS = {"v1", "api", "openapi", "inner", "console"}

# Methods whose fields travel in the query string rather than in a JSON body.
QUERY_METHODS = {"GET", "HEAD"}

_METHOD = re.compile(r"^[A-Za-z]+$")
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_FIELD_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_INTEGER = re.compile(r"^-?(?:0|[1-9]\d*)$")
_NUMBER = re.compile(r"^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$")


def _outside(path: str) -> UsageError:
    return UsageError(
        f"{path} is not in the console API: `dify api` calls only "
        f"{API_PREFIX}/... on the profile's server.",
        hint="Give a path such as `apps` or `/console/api/workspaces`.",
    )


def console_path(path: str, server: str) -> str:
    """PATH as a path below /console/api, its query kept.

    The /console/api prefix may be left out; an absolute URL must be the
    profile's server. Anything else (another host, the service API under
    /v1, a ``..`` segment) is a UsageError.
    """
    raw = path.strip()
    if not raw:
        raise UsageError("Give the PATH of a console API endpoint, such as `apps`.")
    parts = urlsplit(raw)
    if parts.scheme or parts.netloc or raw.startswith("//"):
        ours = urlsplit(server)
        same = (parts.scheme.lower(), parts.netloc.lower()) == (
            ours.scheme.lower(),
            ours.netloc.lower(),
        )
        if not same:
            raise UsageError(
                f"{path} is not on the profile's server ({server}): "
                "`dify api` sends the session only there.",
            )
        if not (parts.path + "/").startswith(API_PREFIX + "/"):
            raise _outside(path)

    # Decoded segments are checked; the path is sent as it was written.
    written = [part for part in parts.path.split("/") if part]
    segments = [unquote(part) for part in written]
    if any(part in (".", "..") or "\\" in part for part in segments):
        raise UsageError(f"{path}: `.` and `..` are not allowed in PATH.")
    if any("/" in part for part in segments):
        # A server or proxy that decodes %2F would see segments never checked.
        raise UsageError(f"{path}: an encoded / (%2F) is not allowed in PATH.")
    prefix = [part for part in API_PREFIX.split("/") if part]
    if segments[: len(prefix)] == prefix:
        written = written[len(prefix) :]
    elif segments and segments[0] in OTHER_APIS:
        raise _outside(path)
    if not written:
        raise UsageError(f"{path} names no endpoint; add one, such as `apps`.")
    return "/".join(written) + (f"?{parts.query}" if parts.query else "")


def typed_value(text: str, key: str = "") -> Any:
    """``true``, ``false``, ``null`` and numbers as JSON values; text as it is.

    A number JSON readers cannot take back (over Python's limit on digits, or
    beyond the range of a float) is a UsageError.
    """
    if text in ("true", "false"):
        return text == "true"
    if text == "null":
        return None
    if _INTEGER.match(text):
        try:
            return int(text)
        except ValueError:
            raise _unsendable(key, f"it has more than {_max_digits()} digits") from None
    if _NUMBER.match(text):
        number = float(text)
        if not math.isfinite(number):
            raise _unsendable(key, "it is beyond the range of a JSON number")
        return number
    return text


def _max_digits() -> int:
    # The limit exists from Python 3.11 (and late 3.10 releases); 4300 by default.
    limit: int = getattr(sys, "get_int_max_str_digits", lambda: 4300)()
    return limit


def _unsendable(key: str, reason: str) -> UsageError:
    return UsageError(
        f"Field {key!r} cannot be sent as a number: {reason}.",
        hint="Pass it with -f to send it as text.",
    )


def split_field(spec: str) -> tuple[str, str]:
    key, sep, value = spec.partition("=")
    if not sep or not key:
        raise UsageError(f"Field {spec!r} is not KEY=VALUE.")
    return key, value


def key_path(key: str) -> list[str]:
    """``a[b][]`` as ``["a", "b", ""]``; an empty part appends to an array."""
    match = _FIELD_KEY.match(key)
    if match is None:
        raise UsageError(
            f"Field name {key!r} is malformed: use name, name[key] or name[]."
        )
    return [match[1], *re.findall(r"\[([^\[\]]*)\]", match[2])]


def build_body(fields: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object from fields; ``a[b]=1`` nests, ``a[]=1`` appends."""
    body: dict[str, Any] = {}
    for key, value in fields:
        parts = key_path(key)
        appends = parts[-1] == ""
        walk = parts[:-2] if appends else parts[:-1]
        if "" in walk:
            raise UsageError(
                f"Field {key!r}: arrays of objects cannot be built from fields.",
                hint="Write the body as JSON and pass it with --input.",
            )
        node = body
        for part in walk:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise _conflict(key)
            node = child
        if appends:
            items = node.setdefault(parts[-2], [])
            if not isinstance(items, list):
                raise _conflict(key)
            items.append(value)
        elif isinstance(node.get(parts[-1]), (dict, list)):
            raise _conflict(key)
        else:
            node[parts[-1]] = value
    return body


def _conflict(key: str) -> UsageError:
    return UsageError(f"Field {key!r} conflicts with an earlier field.")


def query_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parse_header(spec: str) -> tuple[str, str]:
    name, sep, value = spec.partition(":")
    name = name.strip()
    if not sep or not _HEADER_NAME.match(name):
        raise UsageError(f"Header {spec!r} is not 'Name: value'.")
    value = value.strip()
    problem = header_value_problem(value)
    if problem is not None:
        raise UsageError(f"-H {name}: the value cannot be sent: {problem}.")
    return name, value


@dataclass
class Source:
    """Reads ``-`` (standard input, at most once) and files, as bytes."""

    stdin_used_by: str | None = None

    def read(self, source: str, purpose: str) -> tuple[bytes, str]:
        if source == "-":
            if self.stdin_used_by is not None:
                raise UsageError(
                    f"Standard input can feed only one of {self.stdin_used_by} "
                    f"and {purpose}."
                )
            self.stdin_used_by = purpose
            return read_stdin(), "standard input"
        return read_file(source), source


@dataclass
class ApiRequest:
    """One request to send: method, path below /console/api, query, body, headers."""

    method: str
    path: str
    params: list[tuple[str, str]] = field(default_factory=list)
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


def build_request(
    path: str,
    *,
    server: str,
    method: str | None,
    raw_fields: list[str],
    typed_fields: list[str],
    input_source: str | None,
    headers: list[str],
) -> ApiRequest:
    """Check and assemble the parts of `dify api` into one request.

    Without ``method`` it is GET, or POST when there are fields or a body.
    Fields go into the query for GET (and HEAD), into a JSON body otherwise,
    and into the query when --input gives the body.
    """
    relative = console_path(path, server)
    reader = Source()

    fields: list[tuple[str, Any]] = []
    for spec in raw_fields:
        fields.append(split_field(spec))
    for spec in typed_fields:
        key, value = split_field(spec)
        if value == "@":
            raise UsageError(
                f"The field {key} names no file after '@'.",
                hint=f"Write -F {key}=@PATH, or -F {key}=@- for standard input.",
            )
        if value.startswith("@"):
            data, label = reader.read(value[1:], f"the field {key}")
            fields.append((key, _text(data, label)))
        else:
            fields.append((key, typed_value(value, key)))
    for key, _ in fields:
        key_path(key)

    verb = (method or ("POST" if fields or input_source else "GET")).upper()
    if not _METHOD.match(verb):
        raise UsageError(f"{method!r} is not an HTTP method.")

    request = ApiRequest(verb, relative)
    for spec in headers:
        name, value = parse_header(spec)
        request.headers[name] = value

    if input_source is not None:
        if verb in QUERY_METHODS:
            raise UsageError(
                f"--input sends a body, which {verb} requests do not take.",
                hint="Pass -X POST (or the method the endpoint wants).",
            )
        request.body = _json_body(*reader.read(input_source, "--input"))
        request.params = [(key, query_text(value)) for key, value in fields]
    elif verb in QUERY_METHODS:
        request.params = [(key, query_text(value)) for key, value in fields]
    elif fields:
        request.body = _dumps(build_body(fields))

    if request.body is not None and not any(
        name.lower() == "content-type" for name in request.headers
    ):
        request.headers["Content-Type"] = "application/json"
    return request


def _dumps(body: dict[str, Any]) -> bytes:
    # json.dumps would escape undecodable bytes into text the server misreads.
    if not all(is_text(text) for text in texts_in(body)):
        raise UsageError(
            "A field cannot be sent: it is not valid text (it holds bytes that are "
            "not UTF-8)."
        )
    try:
        return json.dumps(body, allow_nan=False).encode("utf-8")
    except ValueError as error:
        raise UsageError(f"The fields cannot be sent as JSON: {error}.") from None


def _text(data: bytes, label: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{label} is not UTF-8 text.") from None


def _json_body(data: bytes, label: str) -> bytes:
    if not data.strip():
        raise UsageError(f"{label} is empty; --input needs a JSON body.")
    text = _text(data, label)
    try:
        json.loads(text, parse_constant=_not_json)
    except json.JSONDecodeError as error:
        detail = f"{error.msg} (line {error.lineno}, column {error.colno})"
        raise UsageError(f"{label} is not valid JSON: {detail}.") from None
    except _NotJson as error:
        raise UsageError(f"{label} is not valid JSON: {error}.") from None
    except ValueError:
        # Python's reader stops at integers of too many digits.
        raise UsageError(
            f"{label} cannot be sent: a number in it has more than "
            f"{_max_digits()} digits."
        ) from None
    return data


class _NotJson(ValueError):
    pass


def _not_json(constant: str) -> Any:
    # Python reads NaN, Infinity and -Infinity, which JSON does not have.
    raise _NotJson(f"{constant} is not a JSON value")


def send(conn: Connection, request: ApiRequest) -> RawReply:
    """Send the request with the profile's session; any answer comes back."""
    return conn.send_raw(
        request.method,
        request.path,
        params=request.params or None,
        data=request.body,
        headers=request.headers,
    )


def status_block(reply: RawReply) -> str:
    """The status line and headers, as ``--include`` shows them."""
    lines = [f"{reply.http_version} {reply.status} {reply.reason}".rstrip()]
    lines += [f"{name}: {value}" for name, value in reply.headers]
    return "\n".join(lines) + "\n\n"


def is_error_page(reply: RawReply) -> bool:
    """Whether the answer is a failure's HTML page, a proxy's say, not the API's."""
    if reply.status < 500:
        return False
    content_type = (reply.header("Content-Type") or "").lower()
    return "html" in content_type or reply.content.lstrip().startswith(b"<")


def body_for_display(reply: RawReply, *, pretty: bool) -> bytes:
    """The body as received, or re-indented JSON for a terminal.

    An error page is left out: its error says what the status means.
    """
    if is_error_page(reply):
        return b""
    if pretty and reply.content.strip():
        parsed = reply.json()
        if parsed is not None:
            text = json.dumps(parsed, indent=2, ensure_ascii=False)
            return (text + "\n").encode("utf-8")
    return reply.content


def answer_error(
    reply: RawReply, request: ApiRequest, profile: str, server: str
) -> DifyError | None:
    """The error a non-2xx answer stands for: exit 4 for 401 and 403, 5 when
    the server is unavailable (502, 503, 504), else 1."""
    if 200 <= reply.status < 300:
        return None
    message = Reply(reply.status, reply.json(), {}, None).message
    where = f"{request.method} {API_PREFIX}/{request.path.split('?')[0]}"
    if reply.status in UNAVAILABLE:
        unavailable = server_error(server, reply.status, message)
        return NetworkError(f"{where}: {unavailable.message}", hint=unavailable.hint)
    text = f"{where}: HTTP {reply.status} {reply.reason}".rstrip()
    if message:
        text += f": {message}"
    text = sentence(text)
    if reply.status == 401:
        return AuthError(text, hint=f"Run {dify_command(profile, 'connect')}.")
    if reply.status == 403:
        return AuthError(text)
    body = reply.json()
    code = body.get("code") if isinstance(body, dict) else None
    return ApiError(
        text, status=reply.status, code=code if isinstance(code, str) else None
    )
