"""Apps in the fake: their store, and the list, export and import endpoints.

The endpoints are shaped as each Dify release range defines them.
"""

from __future__ import annotations

import itertools
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import yaml

from tests.fake_dify.messages import (
    DESCRIPTIONS,
    ApiError,
    InvalidInput,
    Request,
    Response,
    missing,
)
from tests.fake_dify.routes import route
from tests.fake_dify.versions import at_least

if TYPE_CHECKING:
    from tests.fake_dify.accounts import Account, Workspace
    from tests.fake_dify.server import FakeDify

# The DSL version each release writes on export, from the first release with it.
DSL_VERSIONS = (
    ("0.8.0", "0.1.2"),
    ("0.11.0", "0.1.3"),
    ("0.13.0", "0.1.4"),
    ("0.14.2", "0.1.5"),
    ("1.3.0", "0.2.0"),
    ("1.4.0", "0.3.0"),
    ("1.7.0", "0.3.1"),
    ("1.8.0", "0.4.0"),
    ("1.10.0", "0.5.0"),
    ("1.13.0", "0.6.0"),
)

ALL_MODES = ("chat", "completion", "workflow", "advanced-chat", "agent-chat", "channel")
EDIT_ROLES = ("owner", "admin", "editor")
WORKFLOW_MODES = ("workflow", "advanced-chat")

_sequence = itertools.count()


def dsl_version(server_version: str) -> str:
    current = DSL_VERSIONS[0][1]
    for floor, dsl in DSL_VERSIONS:
        if at_least(server_version, floor):
            current = dsl
    return current


def new_api(fake: FakeDify) -> bool:
    """0.12.0 replaced /apps/import with /apps/imports and its confirm step."""
    return at_least(fake.version, "0.12.0")


@dataclass
class FakeApp:
    """One app as the server stores it; `graph` is its workflow or model config."""

    tenant_id: str
    name: str
    mode: str
    created_by: str
    description: str = ""
    icon: str = "🤖"
    icon_background: str = "#FFEAD5"
    graph: dict[str, Any] = field(default_factory=dict)
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    created_at: int = field(default_factory=lambda: int(time.time()))
    # Apps made in the same second still list newest first.
    order: int = field(default_factory=lambda: next(_sequence))

    @property
    def is_workflow(self) -> bool:
        return self.mode in WORKFLOW_MODES


@dataclass
class PendingImport:
    """An import waiting for its confirm call, as Dify keeps it in Redis."""

    tenant_id: str
    content: dict[str, Any]
    name: str | None
    description: str | None
    app_id: str | None
    expires_at: float


class AppStore:
    """Every app on one fake server, across workspaces, and pending imports.

    import_ttl overrides how long a pending import waits for its confirm call
    (180 s before 1.0.0, 600 s from it).

    quota is how many apps a workspace's subscription allows, as Dify Cloud's
    billing sets it. With the workspace full, an import is refused with 403
    before the role is looked at: always on the import route before 0.12.0, and
    from 1.2.0 on the new one (0.12.0 to 1.1.x never checked). None is billing
    turned off, as on a self-hosted server; 0, as in Dify, is no limit.
    """

    def __init__(self, fake: FakeDify) -> None:
        self._fake = fake
        self.apps: dict[str, FakeApp] = {}
        self.pending: dict[str, PendingImport] = {}
        self.import_ttl: float | None = None
        # As a caching proxy that ignores the query string: every app-list
        # request gets the first page.
        self.first_page_only = False
        self.quota: int | None = None

    def add(
        self,
        name: str,
        mode: str = "workflow",
        *,
        workspace: Workspace | None = None,
        graph: dict[str, Any] | None = None,
        description: str = "",
    ) -> FakeApp:
        """Add an app (to the setup account's current workspace by default)."""
        account = self._fake.account
        target = workspace or account.current_workspace
        assert target is not None
        app = FakeApp(
            tenant_id=target["id"],
            name=name,
            mode=mode,
            created_by=account.id,
            description=description,
            graph=default_graph(mode) if graph is None else graph,
        )
        self.apps[app.id] = app
        return app

    def in_workspace(self, tenant_id: str) -> list[FakeApp]:
        """The workspace's apps, newest first."""
        found = [app for app in self.apps.values() if app.tenant_id == tenant_id]
        return sorted(found, key=lambda app: app.order, reverse=True)

    def named(self, name: str) -> list[FakeApp]:
        return [app for app in self.apps.values() if app.name == name]

    @property
    def ttl(self) -> float:
        if self.import_ttl is not None:
            return self.import_ttl
        return 600 if at_least(self._fake.version, "1.0.0") else 180


def default_graph(mode: str) -> dict[str, Any]:
    if mode in WORKFLOW_MODES:
        return {
            "graph": {"nodes": [{"id": "start", "data": {"type": "start"}}]},
            "features": {},
            "environment_variables": [],
            "conversation_variables": [],
        }
    return {"model": {"provider": "openai", "name": "gpt-4o"}, "pre_prompt": ""}


# Shared checks


def current_tenant(request: Request) -> str:
    account = request.account
    assert account is not None
    workspace = account.current_workspace
    if workspace is None:
        raise ApiError(403, "forbidden", DESCRIPTIONS[403])
    return str(workspace["id"])


def require_editor(request: Request) -> Account:
    account = request.account
    assert account is not None
    workspace = account.current_workspace
    if workspace is None or workspace.get("role", "owner") not in EDIT_ROLES:
        raise ApiError(403, "forbidden", DESCRIPTIONS[403])
    return account


QUOTA_REACHED = "The number of apps has reached the limit of your subscription."


def check_app_quota(fake: FakeDify, request: Request) -> None:
    """Dify Cloud's billing check: no new app once the workspace is full."""
    limit = fake.apps.quota
    if limit is None:
        return
    if 0 < limit <= len(fake.apps.in_workspace(current_tenant(request))):
        raise ApiError(403, "forbidden", QUOTA_REACHED)


def app_model(fake: FakeDify, request: Request) -> FakeApp:
    """`get_app_model`: the app in the caller's workspace, or 404 app_not_found."""
    app = fake.apps.apps.get(request.params["app_id"])
    if app is None or app.tenant_id != current_tenant(request):
        raise ApiError(404, "app_not_found", "App not found.")
    return app


def bad_query(name: str, help_text: str, pydantic: str) -> InvalidInput:
    return InvalidInput("AppListQuery", "query", {name: help_text}, pydantic)


# App list


def list_modes(fake: FakeDify) -> tuple[str, ...]:
    if at_least(fake.version, "1.1.3"):
        return (*ALL_MODES, "all")
    return ("chat", "workflow", "agent-chat", "channel", "all")


def mode_matches(fake: FakeDify, wanted: str, mode: str) -> bool:
    if wanted == "all":
        return True
    if not at_least(fake.version, "1.1.3"):
        # The older filter lumped completion in with workflow and
        # advanced-chat in with chat.
        lumped = {
            "workflow": ("workflow", "completion"),
            "chat": ("chat", "advanced-chat"),
        }
        return mode in lumped.get(wanted, (wanted,))
    if wanted == "channel" and at_least(fake.version, "1.7.0"):
        # 1.7.0 dropped the filter's channel branch: nothing is filtered out.
        return True
    return mode == wanted


def int_param(query: dict[str, str], name: str, default: int, high: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_query(
            name,
            f"invalid literal for int() with base 10: '{raw}'",
            f"1 validation error for AppListQuery\n{name}\n  Input should be a "
            "valid integer, unable to parse string as an integer",
        ) from None
    if not 1 <= value <= high:
        raise bad_query(
            name,
            f"Invalid {name}: must be between 1 and {high}",
            f"1 validation error for AppListQuery\n{name}\n  Input should be "
            f"less than or equal to {high}",
        )
    return value


def partial(fake: FakeDify, app: FakeApp) -> dict[str, Any]:
    """An app as the list shows it, with the fields of the server's release."""
    workflow = None
    model_config = None
    if app.is_workflow:
        workflow = {
            "id": f"wf-{app.id[:8]}",
            "created_by": app.created_by,
            "created_at": app.created_at,
            "updated_by": None,
            "updated_at": app.created_at,
        }
    else:
        model_config = {
            "model": app.graph.get("model"),
            "pre_prompt": app.graph.get("pre_prompt", ""),
            "created_by": app.created_by,
            "created_at": app.created_at,
            "updated_by": None,
            "updated_at": app.created_at,
        }
    item: dict[str, Any] = {
        "id": app.id,
        "name": app.name,
        "max_active_requests": None,
        "description": app.description,
        "mode": app.mode,
        "icon_type": "emoji",
        "icon": app.icon,
        "icon_background": app.icon_background,
        "icon_url": None,
        "model_config": model_config,
        "workflow": workflow,
        "use_icon_as_answer_icon": False,
        "created_by": app.created_by,
        "created_at": app.created_at,
        "updated_by": None,
        "updated_at": app.created_at,
        "tags": [],
    }
    if at_least(fake.version, "1.4.1"):
        item |= {
            "access_mode": "public",
            "create_user_name": "Admin",
            "author_name": "Admin",
        }
    if at_least(fake.version, "1.10.0"):
        item["has_draft_trigger"] = False
    return item


@route("/apps", "GET", auth=True)
def app_list(fake: FakeDify, request: Request) -> Response:
    query = request.query
    page = 1 if fake.apps.first_page_only else int_param(query, "page", 1, 99999)
    limit = int_param(query, "limit", 20, 100)
    wanted = query.get("mode") or "all"
    if wanted not in list_modes(fake):
        raise bad_query(
            "mode",
            f"The value '{wanted}' is not a valid choice for 'mode'.",
            "1 validation error for AppListQuery\nmode\n  Input should be "
            + ", ".join(f"'{m}'" for m in list_modes(fake)),
        )
    name = (query.get("name") or "")[:30].lower()

    found = [
        app
        for app in fake.apps.in_workspace(current_tenant(request))
        if mode_matches(fake, wanted, app.mode) and name in app.name.lower()
    ]
    start = (page - 1) * limit
    body = {
        "page": page,
        "limit": limit,
        "total": len(found),
        "has_more": start + limit < len(found),
        "data": [partial(fake, app) for app in found[start : start + limit]],
    }
    return Response(200, body)


def detail(fake: FakeDify, app: FakeApp) -> dict[str, Any]:
    """`app_detail_fields_with_site`, what the old import and the detail return."""
    body = partial(fake, app)
    for key in ("tags", "access_mode", "create_user_name", "author_name"):
        body.pop(key, None)
    body |= {
        "enable_site": True,
        "enable_api": True,
        "site": {"access_token": app.id[:16], "title": app.name},
        "api_base_url": f"{fake.url}/v1",
        "deleted_tools": [],
    }
    return body


@route("/apps/<uuid:app_id>", "GET", auth=True)
def app_detail(fake: FakeDify, request: Request) -> Response:
    return Response(200, detail(fake, app_model(fake, request)))


# Export


def export_dsl(fake: FakeDify, app: FakeApp, include_secret: bool) -> str:
    data: dict[str, Any] = {
        "app": {
            "name": app.name,
            "mode": app.mode,
            "icon": app.icon,
            "icon_background": app.icon_background,
            "description": app.description,
            "use_icon_as_answer_icon": False,
        },
        "kind": "app",
        "version": dsl_version(fake.version),
    }
    if app.is_workflow:
        workflow = dict(app.graph)
        variables = []
        for variable in workflow.get("environment_variables") or []:
            shown = dict(variable)
            if shown.get("value_type") == "secret" and not include_secret:
                shown["value"] = ""
            variables.append(shown)
        workflow["environment_variables"] = variables
        data["workflow"] = workflow
    else:
        data["model_config"] = dict(app.graph)
    if at_least(fake.version, "1.0.0"):
        data["dependencies"] = []
    return str(yaml.dump(data, allow_unicode=True))


@route("/apps/<uuid:app_id>/export", "GET", auth=True)
def app_export(fake: FakeDify, request: Request) -> Response:
    # The app is looked up before the role is checked: 404 comes before 403.
    app = app_model(fake, request)
    require_editor(request)
    query = request.query
    if "workflow_id" in query and at_least(fake.version, "1.8.1"):
        raise ApiError(
            400,
            "invalid_param",
            "Missing draft workflow configuration, please check.",
        )
    include_secret = query.get("include_secret", "false").lower() in ("true", "1")
    return Response(200, {"data": export_dsl(fake, app, include_secret)})


# Importing: what both APIs share


class ImportFailure(Exception):
    """Why a DSL cannot be imported, in the server's words."""


def parse_dsl(content: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(content)
    except yaml.YAMLError as error:
        raise ImportFailure(f"Invalid YAML format: {error}") from error
    if not isinstance(data, dict):
        raise ImportFailure("Invalid YAML format: content must be a mapping")
    data["version"] = data.get("version") or "0.1.0"
    data["kind"] = "app"
    if not isinstance(data["version"], str):
        raise ImportFailure(
            f"Invalid version type, expected str, got {type(data['version'])}"
        )
    if not data.get("app"):
        raise ImportFailure("Missing app data in YAML content")
    return data


def create_or_update(
    fake: FakeDify,
    request: Request,
    data: dict[str, Any],
    *,
    app: FakeApp | None,
    name: str | None,
    description: str | None,
) -> FakeApp:
    app_data = data.get("app") or {}
    mode = app_data.get("mode")
    if not mode:
        raise ImportFailure("loss app mode")
    if mode not in ALL_MODES:
        raise ImportFailure(f"'{mode}' is not a valid AppMode")
    graph = data.get("workflow") if mode in WORKFLOW_MODES else data.get("model_config")
    if app is not None:
        app.name = name or app_data.get("name", app.name)
        app.description = description or app_data.get("description", app.description)
        app.graph = dict(graph or {})
        return app
    account = request.account
    assert account is not None
    created = FakeApp(
        tenant_id=current_tenant(request),
        name=name or str(app_data.get("name") or ""),
        mode=mode,
        created_by=account.id,
        description=description or str(app_data.get("description") or ""),
        icon=str(app_data.get("icon") or "🤖"),
        icon_background=str(app_data.get("icon_background") or "#FFEAD5"),
        graph=dict(graph or {}),
    )
    fake.apps.apps[created.id] = created
    return created


# The old API (before 0.12.0)


@route(
    "/apps/import", "POST", when=lambda b: not at_least(b.version, "0.12.0"), auth=True
)
def old_import(fake: FakeDify, request: Request) -> Response:
    check_app_quota(fake, request)
    require_editor(request)
    body = request.json()
    if not isinstance(body.get("data"), str):
        raise missing("AppImportPayload", "json", "data")
    try:
        data = parse_dsl_old(body["data"])
        app = create_or_update(
            fake,
            request,
            data,
            app=None,
            name=body.get("name"),
            description=body.get("description"),
        )
    except ImportFailure as error:
        raise ApiError(400, "invalid_param", str(error)) from error
    return Response(201, detail(fake, app))


def parse_dsl_old(content: str) -> dict[str, Any]:
    # The old service never refused a DSL for its version; it logged it.
    try:
        data = yaml.safe_load(content)
    except yaml.YAMLError:
        raise ImportFailure("Invalid YAML format in data argument.") from None
    if not isinstance(data, dict):
        raise ImportFailure("Invalid YAML format in data argument.")
    if not data.get("app"):
        raise ImportFailure("Missing app in data argument")
    return data


@route(
    "/apps/<uuid:app_id>/workflows/draft/import",
    "POST",
    when=lambda b: not at_least(b.version, "0.12.0"),
    auth=True,
)
def old_draft_import(fake: FakeDify, request: Request) -> Response:
    app = app_model(fake, request)
    if not app.is_workflow:
        raise ApiError(
            404,
            "app_not_found",
            "App mode is not in the supported list: advanced-chat, workflow",
        )
    require_editor(request)
    body = request.json()
    if not isinstance(body.get("data"), str):
        raise missing("WorkflowImportPayload", "json", "data")
    try:
        data = parse_dsl_old(body["data"])
    except ImportFailure as error:
        raise ApiError(400, "invalid_param", str(error)) from error
    app.graph = dict(data.get("workflow") or {})
    workflow = {
        "id": f"wf-{app.id[:8]}",
        "graph": app.graph.get("graph", {}),
        "features": app.graph.get("features", {}),
        "created_by": {"id": app.created_by},
        "created_at": app.created_at,
        "updated_by": None,
        "updated_at": int(time.time()),
    }
    return Response(200, workflow)


# The new API (from 0.12.0): imports, with a confirm step for other DSL versions


_NUMERIC_VERSION = re.compile(r"^\d+(\.\d+)*$")


def version_parts(text: str) -> tuple[int, int, int] | None:
    if not _NUMERIC_VERSION.match(text.strip()):
        return None
    parts = [int(part) for part in text.strip().split(".")] + [0, 0]
    return parts[0], parts[1], parts[2]


def compatibility(server_version: str, imported: str) -> str:
    """completed, completed-with-warnings, pending or failed for a DSL version."""
    current = version_parts(dsl_version(server_version))
    theirs = version_parts(imported)
    assert current is not None
    if theirs is None:
        return "failed"
    if at_least(server_version, "1.3.1"):
        if theirs > current or theirs[0] < current[0]:
            return "pending"
        if theirs[1] < current[1]:
            return "completed-with-warnings"
        return "completed"
    # Before 1.3.1 any major or minor difference, older or newer, asked first.
    if theirs[:2] != current[:2]:
        return "pending"
    if theirs[2] != current[2]:
        return "completed-with-warnings"
    return "completed"


def import_body(
    fake: FakeDify,
    import_id: str,
    status: str,
    *,
    app: FakeApp | None = None,
    app_id: str | None = None,
    imported: str = "",
    error: str = "",
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": import_id,
        "status": status,
        "app_id": app.id if app else app_id,
    }
    if at_least(fake.version, "1.1.0"):
        body["app_mode"] = app.mode if app else None
    body |= {
        "current_dsl_version": dsl_version(fake.version),
        "imported_dsl_version": imported,
        "error": error,
    }
    return body


STATUS_CODES = {
    "completed": 200,
    "completed-with-warnings": 200,
    "pending": 202,
    "failed": 400,
}


def import_response(body: dict[str, Any]) -> Response:
    return Response(STATUS_CODES[body["status"]], body)


@route("/apps/imports", "POST", when=lambda b: at_least(b.version, "0.12.0"), auth=True)
def app_import(fake: FakeDify, request: Request) -> Response:
    if at_least(fake.version, "1.2.0"):
        check_app_quota(fake, request)
    require_editor(request)
    body = request.json()
    mode = body.get("mode")
    if not isinstance(mode, str):
        raise missing("AppImportPayload", "json", "mode")
    if mode not in ("yaml-content", "yaml-url"):
        raise ApiError(400, "invalid_param", f"Invalid import_mode: {mode}")
    import_id = str(uuid.uuid4())

    def failed(error: str) -> Response:
        return import_response(import_body(fake, import_id, "failed", error=error))

    if mode == "yaml-url":
        return failed("Error fetching YAML from URL: the fake server fetches nothing")
    content = body.get("yaml_content")
    if not content:
        return failed("yaml_content is required when import_mode is yaml-content")
    try:
        data = parse_dsl(str(content))
    except ImportFailure as error:
        return failed(str(error))
    imported = str(data["version"])
    status = compatibility(fake.version, imported)
    if status == "failed":
        return failed(f"Invalid version: '{imported}'")

    app_id = body.get("app_id") or None
    target = None
    if app_id:
        target = fake.apps.apps.get(str(app_id))
        if target is None or target.tenant_id != current_tenant(request):
            return failed("App not found")
        if not target.is_workflow:
            return failed("Only workflow or advanced chat apps can be overwritten")

    if status == "pending":
        fake.apps.pending[import_id] = PendingImport(
            tenant_id=current_tenant(request),
            content=data,
            name=body.get("name"),
            description=body.get("description"),
            app_id=app_id,
            expires_at=time.time() + fake.apps.ttl,
        )
        reply = import_body(fake, import_id, status, app_id=app_id, imported=imported)
        return import_response(reply)

    try:
        app = create_or_update(
            fake,
            request,
            data,
            app=target,
            name=body.get("name"),
            description=body.get("description"),
        )
    except ImportFailure as error:
        return failed(str(error))
    return import_response(
        import_body(fake, import_id, status, app=app, imported=imported)
    )


@route(
    "/apps/imports/<import_id>/confirm",
    "POST",
    when=lambda b: at_least(b.version, "0.12.0"),
    auth=True,
)
def app_import_confirm(fake: FakeDify, request: Request) -> Response:
    require_editor(request)
    import_id = request.params["import_id"]
    pending = fake.apps.pending.get(import_id)
    if pending is None or pending.expires_at <= time.time():
        fake.apps.pending.pop(import_id, None)
        body = import_body(
            fake,
            import_id,
            "failed",
            error="Import information expired or does not exist",
        )
        return import_response(body)
    target = fake.apps.apps.get(pending.app_id) if pending.app_id else None
    if target is not None and target.tenant_id != pending.tenant_id:
        target = None
    try:
        app = create_or_update(
            fake,
            request,
            pending.content,
            app=target,
            name=pending.name,
            description=pending.description,
        )
    except ImportFailure as error:
        return import_response(import_body(fake, import_id, "failed", error=str(error)))
    del fake.apps.pending[import_id]
    body = import_body(
        fake,
        import_id,
        "completed",
        app=app,
        imported=str(pending.content.get("version", "0.1.0")),
    )
    return import_response(body)
