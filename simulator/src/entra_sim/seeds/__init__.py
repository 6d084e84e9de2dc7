"""Seeds: named tenants shipped with the simulator, generated ones, or a JSON file describing your own.

A seed reference is ``article``, ``large`` (optionally ``large:users=2000,groups=20``), or the path of a JSON
file in the schema docs/simulator.md documents.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from entra_sim.model.seeding import SeedError
from entra_sim.seeds import large


def builtin(name: str) -> dict[str, Any]:
    """A seed shipped as JSON in this package."""
    return json.loads(resources.files(__name__).joinpath(f"{name}.json").read_text(encoding="utf-8"))


def load_seed(ref: str | dict[str, Any]) -> dict[str, Any]:
    """The seed a reference names: a seed object as is, a built-in name, a generator with options, or a path."""
    if isinstance(ref, dict):
        return ref
    name, _, options = ref.partition(":")
    if name == "article":
        return builtin("article")
    if name == "large":
        return large.generate(builtin("article"), **_options(options))
    path = Path(ref)
    if not path.is_file():
        raise SeedError(f"unknown seed {ref!r}: not article, large or a JSON file")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise SeedError(f"{ref}: not valid JSON: {exc}") from exc


def _options(text: str) -> dict[str, int]:
    options = {}
    for item in filter(None, text.split(",")):
        key, _, value = item.partition("=")
        if key not in ("users", "groups") or not value.isdigit():
            raise SeedError(f"large takes users=N and groups=N, not {item!r}")
        options[key] = int(value)
    return options
