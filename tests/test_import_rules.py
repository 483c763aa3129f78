"""The house's import rules, read from the code's own imports (ast), so a new import that breaks one fails here.

The mock payer may import from `mirror` only the two packages both share, `mirror.fhir` (FHIR knowledge) and
`mirror.http` (the HTTP layer); those two import from `mirror` nothing else, so nothing of the client comes
with them. `mirror/fhir/` holds no process-wide state and touches no process-wide switch.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ("mirror.fhir", "mirror.http")
# Module-level values built by calling a class that are immutable once built.
IMMUTABLE_FACTORIES = frozenset({"frozenset", "tuple", "MappingProxyType", "json.JSONDecoder"})
CHANGING_METHODS = frozenset({"append", "add", "update", "setdefault", "pop", "popitem", "clear", "remove", "discard",
                              "extend", "insert", "sort", "reverse"})


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, module) for each absolute import anywhere in the file, functions included; `from a import b`
    counts as importing `a.b`, as `b` may be a module."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.extend((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)
    return found


def mirror_imports_outside_shared(package: str) -> list[str]:
    broken = []
    for path in modules(package):
        for line, module in imported_modules(path):
            inside = any(module == shared or module.startswith(f"{shared}.") for shared in SHARED)
            if (module == "mirror" or module.startswith("mirror.")) and not inside:
                broken.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    return broken


def test_the_mock_imports_from_mirror_only_the_shared_fhir_and_http_packages():
    assert mirror_imports_outside_shared("mockpayer") == []


@pytest.mark.parametrize("package", ["mirror/fhir", "mirror/http"])
def test_the_shared_packages_import_nothing_else_of_the_mirror(package):
    assert modules(package)
    assert mirror_imports_outside_shared(package) == []


def test_the_mirror_never_imports_the_mock():
    assert [f"{path.relative_to(ROOT)}:{line}" for path in modules("mirror")
            for line, module in imported_modules(path) if module.split(".")[0] == "mockpayer"] == []


def mirror_file(module: str) -> Path | None:
    """The file of `mirror.a.b` (or of `mirror.a` when `b` is a name in it), None outside the mirror."""
    parts = module.split(".")
    while parts and parts[0] == "mirror":
        for candidate in (ROOT.joinpath(*parts).with_suffix(".py"), ROOT.joinpath(*parts, "__init__.py")):
            if candidate.is_file():
                return candidate
        parts.pop()
    return None


def test_mirror_fhir_touches_no_process_wide_switch():
    """Neither `mirror/fhir/` nor anything of the mirror it imports uses `gc` (the collector is the process's:
    pausing it is the sync engine's call) or rebinds a name with `global`/`nonlocal`."""
    broken, seen = [], set()
    waiting = modules("mirror/fhir")
    while waiting:
        path = waiting.pop()
        if path in seen:
            continue
        seen.add(path)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.Global, ast.Nonlocal)):
                broken.append(f"{path.relative_to(ROOT)}:{node.lineno} rebinds {', '.join(node.names)}")
        for line, module in imported_modules(path):
            if module.split(".")[0] in ("gc", "sys", "threading", "multiprocessing"):
                broken.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
            elif (found := mirror_file(module)) is not None:
                waiting.append(found)
    assert broken == []


def _called_name(call: ast.Call) -> str:
    return ast.unparse(call.func)


def _module_values(tree: ast.Module) -> list[tuple[int, str, ast.expr]]:
    values = []
    for node in tree.body:
        if isinstance(node, ast.Assign):
            values.extend((node.lineno, ast.unparse(target), node.value) for target in node.targets)
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            values.append((node.lineno, ast.unparse(node.target), node.value))
    return values


def test_mirror_fhir_keeps_no_state_at_module_level():
    """A module-level value is a constant: no object made from a class (a memo, a cache, a counter) other than
    the immutable ones, and no function stores into a module-level value, deletes from it or calls a method that
    changes it."""
    broken = []
    for path in modules("mirror/fhir"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = set()
        for line, target, value in _module_values(tree):
            names.update(name.id for name in ast.walk(ast.parse(target, mode="eval")) if isinstance(name, ast.Name))
            for call in (node for node in ast.walk(value) if isinstance(node, ast.Call)):
                called = _called_name(call).rsplit(".", 1)[-1]
                if called[:1].isupper() and _called_name(call) not in IMMUTABLE_FACTORIES:
                    broken.append(f"{path.name}:{line} {target} is a {_called_name(call)}")
        for function in (node for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))):
            for node in ast.walk(function):
                if isinstance(node, (ast.Subscript, ast.Attribute)) and isinstance(node.ctx, (ast.Store, ast.Del)):
                    base = node.value
                    if isinstance(base, ast.Name) and base.id in names:
                        broken.append(f"{path.name}:{node.lineno} {function.name} changes {base.id}")
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                        and isinstance(node.func.value, ast.Name) and node.func.value.id in names
                        and node.func.attr in CHANGING_METHODS):
                    broken.append(f"{path.name}:{node.lineno} {function.name} changes {node.func.value.id}")
    assert broken == []
