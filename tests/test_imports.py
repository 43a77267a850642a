"""Imports point down the flow only, and never in a circle (issue 13 point 4).

The graph is read from the source with :mod:`ast`, imports inside functions
included (a lazy import is a cycle all the same).  Each module sits in a stage
of the flow; a module may import its own stage and the ones below it.  No
server needed.
"""

from __future__ import annotations

import ast
import fnmatch
import graphlib
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

#: the flow, bottom up: endpoints -> catalog -> plan -> run -> verify -> report -> ui
STAGES: list[tuple[str, tuple[str, ...]]] = [
    ("foundation", ("errors", "defaults", "queries", "urls", "embedded", "clienttools")),
    (
        "endpoints",
        ("endpoints", "identity", "protect", "safety", "safety.databases", "databases", "runlock"),
    ),
    (
        "catalog",
        (
            *("catalog", "catalog.*", "casts", "integrity", "sequences", "locks"),
            *("largeobjects", "matviews", "waits", "config", "masking", "masking.*"),
            # pii scan's pure parts, which strict masking reads
            *("pii.names", "pii.values", "pii.toml"),
        ),
    ),
    (
        "plan",
        (
            *("plan", "schema", "schema.*", "details", "journal", "swapped"),
            *("safety.preflight", "safety.backup", "safety.restore", "sequencefix"),
            *("pii", "pii.scanner"),
            # the old names of the safety modules, kept for existing imports
            *("preflight", "backup", "restore"),
        ),
    ),
    ("run", ("refresh", "refresh.*", "swap", "migrate")),
    ("verify", ("verify", "verify.*")),
    ("report", ("report", "init", "doctor", "doctor.*")),
    ("ui", ("", "__main__", "cli", "cli.*", "demo", "demo.*")),
]


def _modules() -> dict[str, Path]:
    found = {}
    for path in (SRC / "pgferry").rglob("*.py"):
        parts = list(path.relative_to(SRC / "pgferry").with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _imported(module: str, path: Path, known: set[str]) -> set[str]:
    """pgferry modules *module* imports anywhere in its file (relative to ``pgferry``)."""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    package = [p for p in package if p]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = ".".join([*base, *([node.module] if node.module else [])])
            elif node.module and (node.module == "pgferry" or node.module.startswith("pgferry.")):
                target = node.module.removeprefix("pgferry").lstrip(".")
            else:
                continue
            for alias in node.names:
                name = f"{target}.{alias.name}".lstrip(".")
                out.add(name if name in known else target)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "pgferry" or alias.name.startswith("pgferry."):
                    out.add(alias.name.removeprefix("pgferry").lstrip("."))
    return {m for m in out if m in known and m != module}


def graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {m: _imported(m, p, known) for m, p in modules.items()}


def stage(module: str) -> int:
    for number, (_, patterns) in enumerate(STAGES):
        if any(fnmatch.fnmatchcase(module, p) for p in patterns):
            return number
    raise LookupError(f"pgferry.{module} is in no stage of the flow: add it to STAGES")


def upward(edges: dict[str, set[str]]) -> list[str]:
    """Every import of a module from a later stage than its own."""
    return sorted(
        f"pgferry.{m} ({STAGES[stage(m)][0]}) imports pgferry.{d} ({STAGES[stage(d)][0]})"
        for m, deps in edges.items()
        for d in deps
        if stage(d) > stage(m)
    )


def test_every_module_has_a_stage() -> None:
    for module in graph():
        stage(module)


def test_no_import_cycles() -> None:
    try:
        list(graphlib.TopologicalSorter(graph()).static_order())
    except graphlib.CycleError as exc:
        pytest.fail("import cycle: " + " -> ".join(f"pgferry.{m}" for m in exc.args[1]))


def test_imports_point_down_the_flow() -> None:
    assert upward(graph()) == []


def test_a_planted_upward_import_is_caught() -> None:
    planted = graph()
    planted["catalog.reader"] = {*planted["catalog.reader"], "migrate"}
    assert upward(planted) == ["pgferry.catalog.reader (catalog) imports pgferry.migrate (run)"]
    planted["migrate"] = {*planted["migrate"], "catalog.reader"}
    with pytest.raises(graphlib.CycleError):
        list(graphlib.TopologicalSorter(planted).static_order())


def test_the_old_names_of_the_safety_modules_are_those_modules() -> None:
    import pgferry
    from pgferry import backup, databases, preflight, restore
    from pgferry.safety import backup as new_backup
    from pgferry.safety import databases as new_databases
    from pgferry.safety import preflight as new_preflight
    from pgferry.safety import restore as new_restore

    assert backup is new_backup and databases is new_databases
    assert preflight is new_preflight and restore is new_restore
    assert backup.template_name is new_backup.template_name  # not only what __all__ lists
    import pgferry.backup as again

    assert again is new_backup
    assert pgferry.run_backup is backup.backup and pgferry.rollback is restore.rollback
