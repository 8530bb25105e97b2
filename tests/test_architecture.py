"""The package's shape (issue 41): no import cycle among datafix's modules, counting the imports
inside functions too, no ``DataFrame.attrs`` side channel, and the size limits (no module over 700
lines, ``audit.py`` at most 200, no function over 80 lines of code outside kernels)."""

from __future__ import annotations

import ast
from pathlib import Path

import datafix

SRC = Path(datafix.__file__).parent


def _modules() -> dict[str, Path]:
    out = {}
    for path in SRC.rglob("*.py"):
        parts = ["datafix", *path.relative_to(SRC).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _owner(name: str, modules: dict[str, Path]) -> str | None:
    """The module an imported name lives in: the longest prefix that is a module."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def import_graph() -> dict[str, set[str]]:
    """Module -> the datafix modules it imports, at module level or inside a function (imports
    under ``if TYPE_CHECKING:`` never run and are left out)."""
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        stack: list[ast.AST] = [ast.parse(path.read_text(encoding="utf-8"))]
        while stack:
            node = stack.pop()
            for child in ast.iter_child_nodes(node):
                if _type_checking(child):
                    continue
                stack.append(child)
                targets: list[str] = []
                if isinstance(child, ast.Import):
                    targets = [alias.name for alias in child.names]
                elif isinstance(child, ast.ImportFrom):
                    base = child.module or ""
                    if child.level:
                        anchor = package.split(".")[: len(package.split(".")) - child.level + 1]
                        base = ".".join([*anchor, base] if base else anchor)
                    # ``from package import module`` imports the module; ``from module import name`` the module
                    targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                               for alias in child.names]
                for target in targets:
                    owner = _owner(target, modules)
                    if owner is not None and owner != name:
                        graph[name].add(owner)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_import_graph_sees_function_level_and_relative_imports():
    graph = import_graph()
    assert "datafix.report.report" in graph["datafix.report.lazy"]       # module level
    assert "datafix.report.html" in graph["datafix.report.report"]       # inside Report.to_html
    assert "datafix.signals.neighbors" in graph["datafix.synth.evaluate"]


def test_no_import_cycle_among_datafix_modules():
    assert cycles(import_graph()) == []


def test_no_dataframe_attrs_side_channel():
    """Results travel in fields (a check's result, a signal, a returned object), not in ``.attrs``."""
    used = [f"{path.relative_to(SRC)}:{node.lineno}"
            for path in sorted(SRC.rglob("*.py"))
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.Attribute) and node.attr == "attrs"]
    assert used == []


#: The longest a module may be, and the orchestrator's module (issue 41).
MAX_MODULE_LINES, MAX_AUDIT_LINES, MAX_FUNCTION_LINES = 700, 200, 80


def test_no_module_is_over_700_lines_and_audit_py_is_at_most_200():
    sizes = {str(path.relative_to(SRC)): len(path.read_text(encoding="utf-8").splitlines())
             for path in SRC.rglob("*.py")}
    assert {name for name, n in sizes.items() if n > MAX_MODULE_LINES} == set()
    assert sizes["audit.py"] <= MAX_AUDIT_LINES


def _code_lines(node: ast.FunctionDef, lines: list[str]) -> int:
    """A function's lines of code: its body without the docstring, blank lines and comments."""
    body = node.body
    first = body[0]
    start = first.lineno
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        start = first.end_lineno + 1
    return sum(1 for line in lines[start - 1 : node.end_lineno] if line.strip() and not line.strip().startswith("#"))


def test_no_function_is_over_80_lines_of_code_outside_kernels():
    long = {}
    for path in sorted(SRC.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and "kernel" not in node.name:
                if (n := _code_lines(node, lines)) > MAX_FUNCTION_LINES:
                    long[f"{path.relative_to(SRC)}:{node.name}"] = n
    assert long == {}
