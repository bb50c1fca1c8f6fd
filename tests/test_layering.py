"""Packages of ``telemed`` depend one way: no two of them import each other, directly or round a loop.

The units are the subpackages and top-level modules of ``telemed`` (the app factory in
``telemed/__init__.py`` wires them all together and is left out). Function-local imports count.
"""

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "telemed"


def _unit(parts: tuple[str, ...]) -> str | None:
    if len(parts) < 2 or parts[0] != "telemed":
        return None
    name = parts[1]
    return name if (ROOT / name).is_dir() or (ROOT / f"{name}.py").exists() else None


def import_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT)
        if rel == Path("__init__.py"):
            continue
        me = rel.parts[0].removesuffix(".py")
        package = ("telemed", *rel.with_suffix("").parts[:-1])
        deps = graph.setdefault(me, set())
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = package[: len(package) - node.level + 1] if node.level else ()
                module = ".".join((*base, node.module) if node.module else base)
                names = [module, *(f"{module}.{alias.name}" for alias in node.names)]
            else:
                continue
            for name in names:
                unit = _unit(tuple(name.split(".")))
                if unit and unit != me:
                    deps.add(unit)
    return graph


def test_no_two_packages_import_each_other():
    try:
        order = list(TopologicalSorter(import_graph()).static_order())
    except CycleError as exc:
        raise AssertionError(f"packages import each other: {' -> '.join(exc.args[1])}") from None
    assert {"api", "records", "scheduling", "storage"} <= set(order)


LAYERS = [
    "notify",
    "storage",
    "auth",
    "catalog",
    "members",
    "notifications",
    "scheduling",
    "documents",
    "chat",
    "video",
    "records",
    "urgent",
    "account",
    "feedback",
    "opinions",
    "admin",
    "api",
    "ops",
]


def test_the_layers_run_from_storage_to_the_api():
    """A package may use those below it in ``LAYERS``, never one above."""
    graph = import_graph()
    upward = [
        (low, high)
        for i, low in enumerate(LAYERS)
        for high in LAYERS[i + 1 :]
        if high in _reachable(graph, low)
    ]
    assert upward == []


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for dep in graph.get(todo.pop(), ()):
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return seen
