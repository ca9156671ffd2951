"""Plugins made visible to a `dify` subprocess without pip, for the tests.

A folder holds the ``.dist-info`` that pip would write; it goes on PYTHONPATH
with the plugin's source.

Python finds entry points through ``.dist-info`` folders on ``sys.path`` and
takes the first of each distribution name, so a folder early on PYTHONPATH
also stands in for a copy of the same plugin installed in the environment.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import tomlkit

if TYPE_CHECKING:
    from collections.abc import Mapping

REPO = Path(__file__).resolve().parent.parent
PLUGINS = REPO / "plugins"


def write_dist_info(
    site: Path, name: str, version: str, entry_points: Mapping[str, str]
) -> Path:
    """The metadata of distribution ``name``, with ``dify_cli`` entry points."""
    folder = site / f"{name.replace('-', '_')}-{version}.dist-info"
    folder.mkdir(parents=True)
    (folder / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        encoding="utf-8",
    )
    lines = ["[dify_cli]", *(f"{key} = {value}" for key, value in entry_points.items())]
    (folder / "entry_points.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def add_project(site: Path, project: Path) -> Path:
    """Announce the plugin project at ``project`` from ``site``, as pip would;
    returns the source folder that must also be on PYTHONPATH."""
    data = tomlkit.parse((project / "pyproject.toml").read_text(encoding="utf-8"))
    meta = data["project"]
    entry_points = dict(meta["entry-points"]["dify_cli"])  # type: ignore[index]
    write_dist_info(
        site,
        str(meta["name"]),  # type: ignore[index]
        str(meta["version"]),  # type: ignore[index]
        {str(key): str(value) for key, value in entry_points.items()},
    )
    return project / "src"


def pythonpath(*folders: Path) -> dict[str, str]:
    """Environment for a subprocess that sees ``folders`` first."""
    return {"PYTHONPATH": os.pathsep.join(str(folder) for folder in folders)}
