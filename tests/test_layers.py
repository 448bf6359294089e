"""The package's modules import one another in one direction: no cycle, ``TYPE_CHECKING``
imports included, and the helper layers never import the ``websocket`` module they serve."""

from __future__ import annotations

import ast
from pathlib import Path

import genro_asgi

PACKAGE = Path(genro_asgi.__file__).parent


def package_imports(path: Path) -> set[str]:
    """Modules of the package that ``path`` imports anywhere (``from . import x`` included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("genro_asgi."):
            found.add(node.module.split(".")[1])  # type: ignore[union-attr]
    return found


def graph() -> dict[str, set[str]]:
    modules = {path.stem: path for path in PACKAGE.glob("*.py")}
    return {name: package_imports(path) & set(modules) - {name} for name, path in modules.items()}


def test_no_import_cycle() -> None:
    edges = graph()
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, f"import cycle: {' -> '.join((*path, name))}"
        if name in done:
            return
        for imported in sorted(edges[name]):
            visit(imported, (*path, name))
        done.add(name)

    for name in sorted(edges):
        visit(name, ())


def test_the_layers_below_websocket_do_not_import_it() -> None:
    edges = graph()
    for layer in ("_receive_ahead", "_capabilities", "_handshake", "_connection", "_dispatch"):
        assert "websocket" not in edges[layer], layer


def test_the_hubs_parts_do_not_import_it() -> None:
    """A member asks its hub through ``HubSide``; backends speak to it through ``Receiver``."""
    edges = graph()
    for part in ("_member", "_memory_backend", "_redis_backend", "_backend", "_fanout"):
        assert "hub" not in edges[part], part
    assert {"_member", "_memory_backend", "_fanout"} <= edges["hub"]


def test_the_check_sees_imports() -> None:
    """Not vacuous: the graph has the edges the package really has."""
    edges = graph()
    assert {"_receive_ahead", "_handshake", "_capabilities", "_connection"} <= edges["websocket"]
    assert "_dispatch" in edges["_receive_ahead"]
