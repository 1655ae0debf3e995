"""The arrows point inward: the SDK never imports a web framework or the Flask adapter (not even
inside a function), no two modules import each other, directly or in a circle, and no package of
the SDK imports one on a higher floor (``FLOORS``). Read from the source with ``ast``, so an import
hidden in a function counts; the runtime check stays too."""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import hoster_compliance
import hoster_compliance_receiver

FORBIDDEN_IN_SDK = ("flask", "werkzeug", "hoster_compliance_receiver")
PACKAGES = {
    "hoster_compliance": Path(hoster_compliance.__file__).parent,
    "hoster_compliance_receiver": Path(hoster_compliance_receiver.__file__).parent,
}


#: The SDK's floors, from the ground up: a module may import modules of its own floor and of the
#: floors below, never of a floor above (a package's name stands for all its modules). A new
#: top-level module or package must be given its floor here.
FLOORS: tuple[tuple[str, ...], ...] = (
    # the ground: imports nothing of the project above it
    ("errors", "vocabulary", "timeutil", "logtext", "auth"),
    ("protocol",),          # the wire: signatures, schemas, regimes, callback messages
    ("store", "starter"),
    ("config_values",),
    ("config_mail", "config_notices", "config_hashcheck"),
    ("config_alerts",),
    ("config",),
    ("delivery",),          # the outbox's machinery; it knows no channel of its own above it
    ("issuer",),            # the issuer's side: its HTTP goes through delivery's bounded sessions
    ("alerts", "notifier"),  # raised and queued in their cause's transaction by orders, notices
    ("orders",),
    ("notices",),
    ("report", "metrics"),
    ("sending",),           # which senders the outbox uses: delivery, alerts, notifier composed
    ("usecases",),          # ComplianceService's parts (service.py), a group of use cases each
    ("service",),
    ("automation",),
    ("workers",),
    ("cli",),
    ("detection",),         # adds the ``scan`` command to the CLI through an entry point
)
SDK = "hoster_compliance"


def _module_name(package: str, root: Path, path: Path) -> str:
    parts = [package, *path.relative_to(root).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(name: str, path: Path, source: str) -> Iterator[tuple[str, int]]:
    """Every module ``source`` imports (at any depth of the tree), absolute, with its line.
    ``from X import y`` yields ``X.y`` as well as ``X`` (``y`` may be a submodule)."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(source, str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            yield target, node.lineno
            for alias in node.names:
                yield f"{target}.{alias.name}", node.lineno


def sources() -> dict[str, tuple[Path, str]]:
    found = {}
    for package, root in PACKAGES.items():
        for path in sorted(root.rglob("*.py")):
            found[_module_name(package, root, path)] = (path, path.read_text(encoding="utf-8"))
    return found


def graph(modules: dict[str, tuple[Path, str]]) -> dict[str, set[str]]:
    """Module -> the project's modules it imports (a package's ``__init__`` is not counted as
    imported by its own submodules: Python runs it first anyway)."""
    edges: dict[str, set[str]] = {}
    for name, (path, source) in modules.items():
        targets = set()
        for target, _ in imports_of(name, path, source):
            if target in modules and target != name and not name.startswith(target + "."):
                targets.add(target)
        edges[name] = targets
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def forbidden_imports(modules: dict[str, tuple[Path, str]]) -> list[str]:
    """One ``file:line imports module`` per offending import statement of the SDK."""
    bad: dict[tuple[Path, int], str] = {}
    for name, (path, source) in modules.items():
        if not name.startswith("hoster_compliance.") and name != "hoster_compliance":
            continue
        for target, line in imports_of(name, path, source):
            if target.split(".")[0] in FORBIDDEN_IN_SDK:
                bad.setdefault((path, line), f"{path.name}:{line} imports {target}")
    return sorted(bad.values())


def floor_of(module: str) -> int | None:
    """The floor of an SDK module (None: the package's own ``__init__``, above every floor)."""
    parts = module.split(".")
    if parts[0] != SDK or len(parts) == 1:
        return None
    for n, floor in enumerate(FLOORS):
        if parts[1] in floor:
            return n
    raise AssertionError(f"{parts[1]} has no floor in FLOORS: give it one")


def upward_imports(modules: dict[str, tuple[Path, str]]) -> list[str]:
    """One ``file:line: module (floor) imports module (floor)`` per import of an SDK module that
    names a module on a higher floor, at any depth of the tree (a function's imports too)."""
    bad: dict[tuple[Path, int, str], str] = {}
    for name, (path, source) in modules.items():
        here = floor_of(name)
        if here is None:
            continue
        for target, line in imports_of(name, path, source):
            if target not in modules:
                continue
            there = floor_of(target)
            if there is not None and there > here:
                top = target.split(".")[1]
                bad.setdefault((path, line, top), f"{path.name}:{line}: {name} (floor {here}) "
                               f"imports {target} (floor {there})")
    return sorted(bad.values())


def test_the_sdk_imports_no_framework_and_not_the_adapter() -> None:
    modules = sources()
    assert "hoster_compliance.cli" in modules and "hoster_compliance_receiver.app" in modules
    assert forbidden_imports(modules) == []


def test_no_import_cycle() -> None:
    assert cycles(graph(sources())) == []


def test_every_sdk_module_has_a_floor() -> None:
    modules = [name for name in sources() if name.startswith(SDK + ".")]
    assert {name.split(".")[1] for name in modules} <= {m for f in FLOORS for m in f}


def test_no_sdk_module_imports_a_higher_floor() -> None:
    assert upward_imports(sources()) == []


# -- the checks themselves fail on what they are meant to catch ---------------------------------


@pytest.mark.parametrize("code", [
    "import flask",
    "def f():\n    from werkzeug.exceptions import NotFound\n",
    "class C:\n    def m(self):\n        import hoster_compliance_receiver.app\n",
    "from flask import Flask as F",
])
def test_a_framework_import_anywhere_in_the_sdk_is_found(code: str) -> None:
    modules = sources()
    path, source = modules["hoster_compliance.timeutil"]
    modules["hoster_compliance.timeutil"] = (path, source + "\n" + code)
    assert len(forbidden_imports(modules)) == 1


def test_an_import_cycle_hidden_in_a_function_is_found() -> None:
    modules = sources()
    path, source = modules["hoster_compliance.timeutil"]
    modules["hoster_compliance.timeutil"] = (
        path, source + "\ndef f():\n    from .service import ComplianceService\n")
    found = cycles(graph(modules))
    assert any({"hoster_compliance.timeutil", "hoster_compliance.service"} <= set(c)
               for c in found)


@pytest.mark.parametrize(("module", "code"), [
    ("hoster_compliance.errors", "from .protocol.limits import MAX_ITEMS"),
    ("hoster_compliance.delivery.outbox", "def f():\n    from ..alerts import queue\n"),
    ("hoster_compliance.orders.actions",
     "class C:\n    def m(self):\n        import hoster_compliance.notices.intake\n"),
    ("hoster_compliance.alerts.reads", "from ..orders import reads"),
    ("hoster_compliance.store.tables", "from hoster_compliance.config import Config as C"),
])
def test_an_import_of_a_higher_floor_is_found(module: str, code: str) -> None:
    modules = sources()
    path, source = modules[module]
    before = upward_imports(modules)
    modules[module] = (path, source + "\n" + code)
    assert len(upward_imports(modules)) == len(before) + 1


def test_relative_imports_resolve() -> None:
    modules = sources()
    path, source = modules["hoster_compliance.orders.actions"]
    targets = {t for t, _ in imports_of("hoster_compliance.orders.actions", path, source)}
    assert {"hoster_compliance.orders.rules", "hoster_compliance.store.orders",
            "hoster_compliance.protocol.callbacks"} <= targets
    path, source = modules["hoster_compliance.orders"]  # a package's own relative imports
    assert all(t.startswith("hoster_compliance") for t, _ in
               imports_of("hoster_compliance.orders", path, source))


def test_no_sdk_module_imports_flask_at_run_time() -> None:
    modules = [m.name for m in pkgutil.walk_packages(hoster_compliance.__path__,
                                                     "hoster_compliance.")]
    assert "hoster_compliance.service" in modules and "hoster_compliance.cli" in modules
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('flask', 'werkzeug', 'hoster_compliance_receiver'))\n"
        "assert not bad, bad\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
