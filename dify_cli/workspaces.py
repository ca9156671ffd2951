"""The account's workspaces: listing them and choosing the current one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dify_cli.errors import NotFoundError, UsageError

if TYPE_CHECKING:
    from dify_cli.connection import Connection

FIELDS = ("id", "name", "plan", "status", "created_at", "current")


def list_workspaces(conn: Connection) -> list[dict[str, Any]]:
    """Every workspace the account belongs to, the current one marked."""
    body = conn.request("GET", "workspaces")
    items = body.get("workspaces") if isinstance(body, dict) else None
    return [
        {key: item.get(key) for key in FIELDS}
        for item in items or []
        if isinstance(item, dict) and item.get("id")
    ]


def find_workspace(workspaces: list[dict[str, Any]], wanted: str) -> dict[str, Any]:
    """The workspace whose id, or else whose exact name, is ``wanted``."""
    for item in workspaces:
        if item["id"] == wanted:
            return item
    named = [item for item in workspaces if item.get("name") == wanted]
    if len(named) == 1:
        return named[0]
    if named:
        ids = ", ".join(str(item["id"]) for item in named)
        raise UsageError(
            f"{len(named)} workspaces are named {wanted!r}: {ids}.",
            hint="Give the id instead.",
        )
    names = ", ".join(repr(item.get("name")) for item in workspaces) or "none"
    raise NotFoundError(
        f"No workspace {wanted!r} for this account; it has: {names}.",
    )


@dataclass(frozen=True)
class Switched:
    """The workspace now current, and whether it had to be switched to."""

    workspace: dict[str, Any]
    switched: bool

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.workspace.get("id"),
            "name": self.workspace.get("name"),
            "switched": self.switched,
        }


def switch_workspace(conn: Connection, wanted: str) -> Switched:
    """Make the workspace with id or exact name ``wanted`` the current one.

    Dify keeps the current workspace per account on the server, so this
    changes it for the web console and every other session as well.
    """
    target = find_workspace(list_workspaces(conn), wanted)
    if target.get("current"):
        return Switched(target, switched=False)
    body = conn.request(
        "POST", "workspaces/switch", json_body={"tenant_id": target["id"]}
    )
    tenant = body.get("new_tenant") if isinstance(body, dict) else None
    if isinstance(tenant, dict) and tenant.get("name"):
        target = {**target, "name": tenant["name"]}
    return Switched({**target, "current": True}, switched=True)
