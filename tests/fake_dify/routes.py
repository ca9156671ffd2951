"""The console API endpoints: a route table and one handler per endpoint.

To add an endpoint, decorate a handler:

    @route("/apps/<app_id>", "GET", auth=True)
    def app_detail(fake: FakeDify, request: Request) -> Response:
        return Response(200, {"id": request.params["app_id"]})

`auth=True` runs Dify's login check (and the CSRF check on cookie servers)
and puts the caller in `request.account`.
"""

from __future__ import annotations

import base64
import binascii
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from tests.fake_dify import admin_key
from tests.fake_dify.accounts import Account, EmailCodeError, Workspace
from tests.fake_dify.features import WORKSPACE_FEATURES
from tests.fake_dify.messages import (
    DESCRIPTIONS,
    ApiError,
    InvalidInput,
    Request,
    Response,
    invalid_email,
    invalid_input_response,
    missing,
)
from tests.fake_dify.tokens import TokenError

if TYPE_CHECKING:
    from tests.fake_dify.server import FakeDify
    from tests.fake_dify.versions import Behaviour

PREFIX = "/console/api"

Handler = Callable[["FakeDify", Request], Response]

UUID = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


@dataclass(frozen=True)
class Route:
    """One method on one path, served while `when` holds for the server."""

    pattern: re.Pattern[str]
    method: str
    handler: Handler
    when: Callable[[Behaviour], bool] | None = None
    auth: bool = False
    csrf: bool = True
    setup: bool = True
    fastopenapi: bool = False


ROUTES: list[Route] = []


def route(
    path: str,
    *methods: str,
    when: Callable[[Behaviour], bool] | None = None,
    auth: bool = False,
    csrf: bool = True,
    setup: bool = True,
    fastopenapi: bool = False,
) -> Callable[[Handler], Handler]:
    """Register a handler for `path` (below /console/api; `<name>` matches one
    segment into `request.params`, `<uuid:name>` only a UUID, as Flask's
    converter does).

    auth: the caller must be logged in; csrf: with auth, also check the CSRF
    double submit on cookie servers; setup: answer not_setup until setup is
    done; fastopenapi: errors take fastopenapi's shape from 1.12.
    """
    regex = re.sub(
        r"<(uuid:)?(\w+)>",
        lambda m: f"(?P<{m[2]}>{UUID if m[1] else '[^/]+'})",
        path,
    )
    pattern = re.compile(f"^{regex}$")

    def register(handler: Handler) -> Handler:
        for method in methods:
            ROUTES.append(
                Route(pattern, method, handler, when, auth, csrf, setup, fastopenapi)
            )
        return handler

    return register


# Dispatch


def dispatch(fake: FakeDify, request: Request) -> Response:
    """Answer one request as the server generation would, errors included."""
    behaviour = fake.behaviour
    response, entry = _dispatch(fake, request)
    console = request.path.startswith(PREFIX + "/")
    if console and (entry is not None or behaviour.cors_on_routing_errors):
        add_cors_headers(fake, response)
    if (entry is not None and entry.auth) or behaviour.modern_shapes:
        response.headers.append(("Vary", "Cookie"))
    return response


def add_cors_headers(fake: FakeDify, response: Response) -> None:
    """What flask-cors adds for the console, even to a request with no Origin.

    The allowed origin is the console's, a server setting; the fake names its
    own, as the recorded servers were set up.
    """
    response.headers += [
        ("Access-Control-Allow-Origin", fake.url),
        ("Access-Control-Expose-Headers", fake.behaviour.exposed_headers),
        ("Access-Control-Allow-Credentials", "true"),
    ]


def _dispatch(fake: FakeDify, request: Request) -> tuple[Response, Route | None]:
    """The answer, and the route that gave it (None for a routing error)."""
    behaviour = fake.behaviour
    if not request.path.startswith(PREFIX + "/"):
        return ApiError(404, "not_found", DESCRIPTIONS[404]).response(False), None

    # The newest registration wins, so a test can stand in for a built-in.
    path = request.path[len(PREFIX) :]
    candidates = []
    for entry in reversed(ROUTES):
        match = entry.pattern.match(path)
        if match and (entry.when is None or entry.when(behaviour)):
            candidates.append((entry, match.groupdict()))
    if not candidates:
        return ApiError(404, "not_found", DESCRIPTIONS[404]).response(False), None
    chosen = [(e, p) for e, p in candidates if e.method == request.method]
    if not chosen:
        error = ApiError(405, "method_not_allowed", DESCRIPTIONS[405])
        return error.response(False), None

    entry, params = chosen[0]
    request.params = params
    fastopenapi = entry.fastopenapi and behaviour.fastopenapi
    try:
        if entry.setup:
            require_setup(fake)
        if entry.auth:
            request.account = authenticate(fake, request, check_csrf=entry.csrf)
        response = entry.handler(fake, request)
    except ApiError as error:
        response = error.response(fastopenapi)
    except InvalidInput as error:
        style = "pydantic"
        if fastopenapi:
            style = "fastopenapi"
        elif behaviour.reqparse:
            style = "reqparse"
        response = invalid_input_response(error, style, fake.pydantic_version)
    return response, entry


# Checks shared by routes


def require_setup(fake: FakeDify) -> None:
    if fake.cloud or fake.setup_done:
        return
    if fake.init_password is not None:
        raise ApiError(
            401,
            "not_init_validated",
            "Init validation has not been completed yet. "
            "Please proceed with the init validation process first.",
        )
    raise ApiError(
        401,
        "not_setup",
        "Dify has not been initialized and installed yet. "
        "Please proceed with the initialization and installation process first.",
    )


def unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message)


def access_token_of(fake: FakeDify, request: Request) -> str | None:
    """Where the server looks for the access token: cookie, then Bearer on
    cookie servers; Bearer, then `?_token=` before them.

    Before 1.9.2 an Authorization header that is not `Bearer <token>` is an
    error of its own; from 1.9.2 it is passed over as if it were absent.
    """
    cookies = fake.behaviour.cookies
    if cookies:
        cookie = request.cookies.get(fake.cookie_name("access_token"))
        if cookie:
            return cookie

    header = request.header("Authorization")
    if header:
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
        if cookies:
            return None
        raise unauthorized(
            "Invalid Authorization header format. Expected 'Bearer <api-key>' format."
        )
    if not cookies:
        return request.query.get("_token") or None
    return None


def authenticate(fake: FakeDify, request: Request, check_csrf: bool) -> Account:
    token = access_token_of(fake, request)
    if not token:
        raise unauthorized("Invalid Authorization token.")
    owner = admin_key.account_for(fake, request, token)
    if owner is not None:
        if check_csrf and fake.behaviour.cookies and not admin_key.skips_csrf(fake):
            verify_csrf(fake, request, owner)
        return owner
    try:
        claims = fake.issuer.verify(token)
    except TokenError as error:
        raise unauthorized(str(error)) from error
    account = fake.book.by_id(str(claims.get("user_id", "")))
    if account is None:
        raise unauthorized("Invalid token.")
    if account.banned:
        raise unauthorized("Account is banned.")
    if check_csrf and fake.behaviour.cookies:
        verify_csrf(fake, request, account)
    return account


def verify_csrf(fake: FakeDify, request: Request, account: Account) -> None:
    """The double submit: header equals cookie, and it is our JWT for this user."""
    header = request.header("X-CSRF-Token")
    cookie = request.cookies.get(fake.cookie_name("csrf_token"))
    failure = unauthorized("CSRF token is missing or invalid.")
    if not header or not cookie or header != cookie:
        raise failure
    try:
        claims = fake.issuer.verify(header)
    except TokenError as error:
        raise failure from error
    if claims.get("sub") != account.id:
        raise failure


def decode_secret(value: str) -> str | None:
    """Base64 as Dify decodes it: characters outside the alphabet are dropped,
    bad padding or non-UTF-8 bytes fail."""
    try:
        return base64.b64decode(value).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def required_strings(
    request: Request, model: str, *names: str
) -> tuple[dict[str, Any], list[str]]:
    body = request.json()
    absent = [name for name in names if not isinstance(body.get(name), str)]
    if absent:
        raise missing(model, "json", *absent)
    return body, [body[name] for name in names]


def check_email(model: str, email: str) -> None:
    if not EMAIL.match(email):
        raise invalid_email(model, email)


def issue_session(
    fake: FakeDify,
    account: Account,
    request: Request,
    email: str,
    csrf_first: bool = False,
) -> Response:
    """Log the account in: tokens in the body before 1.9.2, cookies after.

    email is the one the request gave, whose failed logins are forgotten.
    """
    account.last_login_at = int(time.time())
    account.last_login_ip = request.client_ip
    fake.book.clear_failures(email)
    access = fake.issuer.access_token(account.id)
    refresh = fake.refresh_tokens.issue(account.id)
    if not fake.behaviour.cookies:
        data = {"access_token": access, "refresh_token": refresh}
        return Response(200, {"result": "success", "data": data})
    csrf = fake.issuer.csrf_token(account.id)
    return cookie_response(fake, access, refresh, csrf, csrf_first)


def cookie_response(
    fake: FakeDify, access: str, refresh: str, csrf: str, csrf_first: bool
) -> Response:
    response = Response(200, {"result": "success"})
    secure = fake.https
    ttl = fake.access_ttl

    def add_csrf() -> None:
        response.set_cookie(fake.cookie_name("csrf_token"), csrf, ttl, False, secure)

    # Password login sets the CSRF cookie last; refresh and email code first.
    if csrf_first:
        add_csrf()
    response.set_cookie(fake.cookie_name("access_token"), access, ttl, True, secure)
    response.set_cookie(
        fake.cookie_name("refresh_token"),
        refresh,
        fake.refresh_tokens.ttl,
        True,
        secure,
    )
    if not csrf_first:
        add_csrf()
    return response


# Bootstrapping: no login needed


@route("/system-features", "GET", setup=False)
def system_features(fake: FakeDify, request: Request) -> Response:
    return Response(200, fake.features)


@route("/ping", "GET", setup=False, fastopenapi=True)
def ping(fake: FakeDify, request: Request) -> Response:
    return Response(200, {"result": "pong"})


@route("/version", "GET", setup=False, fastopenapi=True)
def version(fake: FakeDify, request: Request) -> Response:
    if "current_version" not in request.query:
        raise missing("VersionQuery", "query", "current_version")
    features = {"can_replace_logo": False, "model_load_balancing_enabled": False}
    return Response(
        200,
        {
            "version": fake.version,
            "release_date": "",
            "release_notes": "",
            "can_auto_update": False,
            "features": features,
        },
    )


def already_setup() -> ApiError:
    return ApiError(
        403,
        "already_setup",
        "Dify has been successfully installed. "
        "Please refresh the page or return to the dashboard homepage.",
    )


PASSWORD_RULE = re.compile(r"^(?=.*[a-zA-Z])(?=.*\d).{8,}$")
PASSWORD_RULE_MESSAGE = (
    "Password must contain letters and numbers, and the length must be greater than 8."
)


def breaks_password_rule(model: str) -> InvalidInput:
    return InvalidInput(
        model,
        "json",
        {"password": PASSWORD_RULE_MESSAGE},
        f"1 validation error for {model}\npassword\n"
        f"  Value error, {PASSWORD_RULE_MESSAGE}",
    )


@route("/setup", "GET", setup=False, fastopenapi=True)
def setup_status(fake: FakeDify, request: Request) -> Response:
    if fake.cloud:
        return Response(200, {"step": "finished"})
    if fake.setup_done and fake.setup_at is not None:
        setup_at = datetime.fromtimestamp(fake.setup_at, timezone.utc)
        iso = setup_at.replace(tzinfo=None).isoformat(timespec="seconds")
        return Response(200, {"step": "finished", "setup_at": iso})
    body: dict[str, Any] = {"step": "not_started"}
    if fake.behaviour.fastopenapi:
        body["setup_at"] = None
    return Response(200, body)


@route("/setup", "POST", setup=False, fastopenapi=True)
def setup(fake: FakeDify, request: Request) -> Response:
    if fake.cloud:
        raise ApiError(404, "not_found", DESCRIPTIONS[404])
    if fake.setup_done:
        raise already_setup()
    if fake.init_password is not None and not fake.init_validated(request):
        raise ApiError(
            401,
            "not_init_validated",
            "Init validation has not been completed yet. "
            "Please proceed with the init validation process first.",
        )
    _, (email, name, password) = required_strings(
        request, "SetupRequestPayload", "email", "name", "password"
    )
    check_email("SetupRequestPayload", email)
    if not PASSWORD_RULE.match(password):
        raise breaks_password_rule("SetupRequestPayload")
    email = fake.book.key(email)
    fake.complete_setup(email=email, name=name, password=password)
    return Response(201, {"result": "success"})


@route("/init", "GET", setup=False, fastopenapi=True)
def init_status(fake: FakeDify, request: Request) -> Response:
    finished = (
        fake.init_password is None or fake.setup_done or fake.init_validated(request)
    )
    return Response(200, {"status": "finished" if finished else "not_started"})


@route("/init", "POST", setup=False, fastopenapi=True)
def init_validate(fake: FakeDify, request: Request) -> Response:
    if fake.cloud:
        raise ApiError(404, "not_found", DESCRIPTIONS[404])
    if fake.setup_done:
        raise already_setup()
    _, (password,) = required_strings(request, "InitValidatePayload", "password")
    if fake.init_password is None or password != fake.init_password:
        raise ApiError(
            401,
            "init_validate_failed",
            "Init validation failed. Please check the password and try again.",
        )
    # Flask keeps the "init validated" flag in its signed session cookie.
    response = Response(201, {"result": "success"})
    response.headers.append(
        ("Set-Cookie", f"session={fake.new_init_session()}; HttpOnly; Path=/")
    )
    return response


# Password login


@route("/login", "POST")
def login(fake: FakeDify, request: Request) -> Response:
    behaviour = fake.behaviour
    if not fake.features.get("enable_email_password_login", True):
        raise ApiError(403, "forbidden", DESCRIPTIONS[403])
    _, (email, password) = required_strings(
        request, "LoginPayload", "email", "password"
    )
    check_email("LoginPayload", email)

    if behaviour.encoded_secrets:
        decoded = decode_secret(password)
        if decoded is None:
            # Refused before the lockout count is even looked at.
            raise ApiError(401, "authentication_failed", "Invalid encrypted data")
        password = decoded
    elif behaviour.password_rule_on_login and not PASSWORD_RULE.match(password):
        raise breaks_password_rule("LoginPayload")

    if fake.cloud and fake.book.is_frozen(email):
        raise account_in_freeze()
    if fake.book.is_locked_out(email):
        raise ApiError(
            429,
            "email_code_login_limit",
            "Too many incorrect password attempts. Please try again later.",
        )

    account = fake.book.find(email)
    if account is None and behaviour.unknown_email_not_found:
        raise ApiError(400, "account_not_found", "Account not found.")
    if account is not None and account.banned:
        raise ApiError(400, "account_banned", "Account is banned.")
    if account is None or account.password is None or account.password != password:
        fake.book.record_failure(email)
        if behaviour.password_mismatch_code:
            raise ApiError(
                400,
                "email_or_password_mismatch",
                "The email or password is mismatched.",
            )
        raise ApiError(401, "authentication_failed", "Invalid email or password.")

    if not account.workspaces:
        return Response(
            200,
            {
                "result": "fail",
                "data": "workspace not found, please contact system admin "
                "to invite you to join in a workspace",
            },
        )
    return issue_session(fake, account, request, email)


def account_in_freeze() -> ApiError:
    return ApiError(
        400,
        "account_in_freeze",
        # No space before "and": Dify's two string pieces meet without one.
        "This email account has been deleted within the past 30 days"
        "and is temporarily unavailable for new account registration.",
    )


# Email-code login


@route("/email-code-login", "POST")
def email_code_send(fake: FakeDify, request: Request) -> Response:
    body, (email,) = required_strings(request, "EmailPayload", "email")
    check_email("EmailPayload", email)
    language = body.get("language") or "en-US"

    if fake.cloud and fake.book.is_frozen(email):
        raise account_in_freeze()
    account = fake.book.find(email)
    if account is not None and account.banned:
        raise unauthorized("Account is banned.")
    if account is None and not fake.features.get("is_allow_register"):
        raise ApiError(400, "account_not_found", "Account not found.")

    # The code goes to the account's own email, or the new one as filed.
    address = account.email if account is not None else fake.book.key(email)
    limit, window = fake.email_code_sends
    if not fake.book.may_send_code(address, limit, window):
        # The message names the configured window even when a test shortens it.
        minutes = fake.behaviour.email_code_sends[1] // 60
        raise ApiError(
            429,
            "email_code_login_rate_limit_exceeded",
            "Too many login emails have been sent. "
            f"Please try again in {minutes} minutes.",
        )
    mail = fake.book.send_code(address, str(language))
    return Response(200, {"result": "success", "data": mail.token})


@route("/email-code-login/validity", "POST")
def email_code_validity(fake: FakeDify, request: Request) -> Response:
    _, (email, code, token) = required_strings(
        request, "EmailCodeLoginPayload", "email", "code", "token"
    )
    if fake.behaviour.encoded_secrets:
        decoded = decode_secret(code)
        if decoded is None:
            raise ApiError(400, "email_code_error", "Invalid encrypted code")
        code = decoded

    try:
        fake.book.use_code(token, email, code)
    except EmailCodeError as error:
        raise {
            "invalid_or_expired_token": ApiError(
                400, "invalid_or_expired_token", "The token is invalid or has expired."
            ),
            "invalid_email": ApiError(
                400, "invalid_email", "The email address is not valid."
            ),
            "email_code_error": ApiError(
                400, "email_code_error", "Email code is invalid or expired."
            ),
        }[error.code] from error

    if fake.cloud and fake.book.is_frozen(email):
        raise account_in_freeze()
    account = fake.book.find(email)
    if account is None:
        # Only reachable when registration is open: the send refused otherwise.
        filed = fake.book.key(email)
        account = fake.book.add(filed, None, filed.partition("@")[0], workspaces=[])
    if account.banned:
        # The token is spent by now, as Dify revokes it before the lookup.
        if fake.behaviour.banned_code_login_unauthorized:
            raise unauthorized("Account is banned.")
        raise ApiError(400, "account_banned", "Account is banned.")
    if not account.workspaces:
        if not fake.features.get("is_allow_create_workspace"):
            raise ApiError(
                400,
                "not_allowed_create_workspace",
                "Workspace not found, please contact system admin "
                "to invite you to join in a workspace.",
            )
        fake.book.add_workspace(account, f"{account.name}'s Workspace")

    # Unlike password login, this sets the CSRF cookie first.
    return issue_session(fake, account, request, email, csrf_first=True)


# Session upkeep


@route("/refresh-token", "POST", setup=False)
def refresh_token(fake: FakeDify, request: Request) -> Response:
    if not fake.behaviour.cookies:
        return refresh_from_body(fake, request)

    # From 1.9.2 the token is read from the cookie only; a JSON body is ignored.
    token = request.cookies.get(fake.cookie_name("refresh_token"))
    if not token:
        return Response(401, {"result": "fail", "message": "No refresh token provided"})
    try:
        account_id, refresh = rotate_refresh_token(fake, token)
    except TokenError as error:
        return Response(401, {"result": "fail", "message": str(error)})
    access = fake.issuer.access_token(account_id)
    csrf = fake.issuer.csrf_token(account_id)
    return cookie_response(fake, access, refresh, csrf, csrf_first=True)


def refresh_from_body(fake: FakeDify, request: Request) -> Response:
    token = request.json().get("refresh_token")
    if not isinstance(token, str) or not token:
        raise missing("RefreshTokenPayload", "json", "refresh_token")
    try:
        account_id, refresh = rotate_refresh_token(fake, token)
    except TokenError as error:
        return Response(401, {"result": "fail", "data": str(error)})
    data = {
        "access_token": fake.issuer.access_token(account_id),
        "refresh_token": refresh,
    }
    return Response(200, {"result": "success", "data": data})


def rotate_refresh_token(fake: FakeDify, token: str) -> tuple[str, str]:
    """Check the token and its account, then trade it for a new one.

    A failure leaves the token as it was. The messages are Dify's exception
    texts: a banned account's is werkzeug's Unauthorized turned into a string.
    """
    account_id = fake.refresh_tokens.owner(token)
    if account_id is None:
        raise TokenError("Invalid refresh token")
    account = fake.book.by_id(account_id)
    if account is not None and account.banned:
        raise TokenError("401 Unauthorized: Account is banned.")
    # Dify loads no account that belongs to no workspace.
    if account is None or not account.workspaces:
        raise TokenError("Invalid account")
    return fake.refresh_tokens.rotate(token)


@route("/logout", "GET", when=lambda b: b.logout_method == "GET", auth=True)
@route(
    "/logout", "POST", when=lambda b: b.logout_method == "POST", auth=True, csrf=False
)
def logout(fake: FakeDify, request: Request) -> Response:
    account = request.account
    assert account is not None
    # Dify forgets the account's newest refresh token, whoever holds it.
    fake.refresh_tokens.revoke_latest(account.id)
    response = Response(200, {"result": "success"})
    if fake.behaviour.cookies:
        for name, httponly in (
            ("access_token", True),
            ("refresh_token", True),
            ("csrf_token", False),
        ):
            response.clear_cookie(fake.cookie_name(name), httponly, fake.https)
    return response


# Account and workspaces


@route("/account/profile", "GET", auth=True)
def profile(fake: FakeDify, request: Request) -> Response:
    account = request.account
    assert account is not None
    body: dict[str, Any] = {
        "id": account.id,
        "name": account.name,
        "avatar": None,
        "avatar_url": None,
        "email": account.email,
        "is_password_set": account.password is not None,
        "interface_language": account.interface_language,
        "interface_theme": account.interface_theme,
        "timezone": account.timezone,
        "last_login_at": account.last_login_at,
        "last_login_ip": account.last_login_ip,
        "created_at": account.created_at,
    }
    if fake.behaviour.modern_shapes:
        # Newer servers list the avatar first and its URL last.
        body = {"avatar": None} | {k: v for k, v in body.items() if "avatar" not in k}
        body["avatar_url"] = None
    return Response(200, body)


def tenant(fake: FakeDify, workspace: Workspace) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": workspace["id"],
        "name": workspace["name"],
        "plan": workspace["plan"],
        "status": workspace["status"],
        "created_at": workspace["created_at"],
        "role": workspace.get("role", "owner"),
        "in_trial": None,
        "trial_end_reason": None,
        "custom_config": None,
    }
    if fake.behaviour.modern_shapes:
        body |= {
            "trial_credits": None,
            "trial_credits_used": None,
            "next_credit_reset_date": None,
        }
    return body


@route("/workspaces", "GET", auth=True)
def workspaces(fake: FakeDify, request: Request) -> Response:
    account = request.account
    assert account is not None
    current = account.current_workspace
    listed = []
    for workspace in account.workspaces:
        item: dict[str, Any] = {
            "id": workspace["id"],
            "name": workspace["name"],
            # The list reports the billing plan, which is "sandbox" when billing
            # is off, while workspaces/current reports the stored "basic".
            "plan": "sandbox",
            "status": workspace["status"],
            "created_at": workspace["created_at"],
        }
        if fake.behaviour.modern_shapes:
            item["last_opened_at"] = workspace["created_at"]
        item["current"] = current is not None and workspace["id"] == current["id"]
        listed.append(item)
    return Response(200, {"workspaces": listed})


def current_workspace(fake: FakeDify, request: Request) -> Response:
    account = request.account
    assert account is not None
    workspace = account.current_workspace
    if workspace is None:
        raise ApiError(404, "not_found", DESCRIPTIONS[404])
    return Response(200, tenant(fake, workspace))


route(
    "/workspaces/current",
    "GET",
    when=lambda b: b.current_workspace_method == "GET",
    auth=True,
)(current_workspace)
route(
    "/workspaces/current",
    "POST",
    when=lambda b: b.current_workspace_method == "POST",
    auth=True,
)(current_workspace)


@route("/workspaces/switch", "POST", auth=True)
def switch_workspace(fake: FakeDify, request: Request) -> Response:
    account = request.account
    assert account is not None
    _, (tenant_id,) = required_strings(request, "SwitchWorkspacePayload", "tenant_id")
    for workspace in account.workspaces:
        if workspace["id"] == tenant_id:
            account.current_workspace_id = tenant_id
            body = {"result": "success", "new_tenant": tenant(fake, workspace)}
            return Response(200, body)
    raise ApiError(403, "account_not_link_tenant", "Account not link tenant.")


# A little of the rest of the console, enough to prove a session works
# (apps are in apps.py)


@route("/features", "GET", auth=True)
def workspace_features(fake: FakeDify, request: Request) -> Response:
    return Response(200, WORKSPACE_FEATURES)
