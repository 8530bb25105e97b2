"""Build checks of the API reference: every public name documented, each with an example.

The public names are the checked-in list ``PUBLIC`` of ``tests/test_api.py`` (read with
``ast``, not imported), less ``NO_EXAMPLE`` there (plain records such as ``CheckSpec``). A
public function or class whose docstring has no ``Examples`` section, or that no page of the
reference documents, is a build warning naming it, and ``make docs`` turns warnings into errors.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

from sphinx.util import logging

logger = logging.getLogger("datafix.docs")
API_LIST = Path(__file__).resolve().parents[1] / "tests" / "test_api.py"


def public_names(path: Path = API_LIST) -> tuple[dict[str, list[str]], set[str]]:
    """``PUBLIC`` (module -> names) and ``NO_EXAMPLE`` (names exempt from the example rule)."""
    found: dict[str, object] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            if node.targets[0].id in {"PUBLIC", "NO_EXAMPLE"}:
                found[node.targets[0].id] = ast.literal_eval(node.value)
    return found["PUBLIC"], set(found["NO_EXAMPLE"])


def _public_objects(path: Path) -> dict[int, str]:
    public, _ = public_names(path)
    out: dict[int, str] = {}
    for module, names in public.items():
        mod = importlib.import_module(module)
        for name in names:
            obj = getattr(mod, name)
            if inspect.isclass(obj) or inspect.isfunction(obj):
                out.setdefault(id(obj), f"{module}.{name}")
    return out


def _check_docstring(app, what, name, obj, options, lines) -> None:
    wanted = app.env.datafix_public
    if id(obj) not in wanted:
        return
    app.env.datafix_seen.add(id(obj))
    short = wanted[id(obj)].rsplit(".", 1)[1]
    doc = inspect.getdoc(obj) or ""
    if short not in app.env.datafix_no_example and "\nExamples\n--------" not in f"\n{doc}":
        logger.warning(f"public name {wanted[id(obj)]} has no 'Examples' section in its docstring: "
                       "add one (numpydoc format) with a short runnable example", type="datafix", subtype="example")


def _start(app) -> None:
    path = Path(app.config.datafix_public_list)
    app.env.datafix_public = _public_objects(path)
    app.env.datafix_seen = set()
    app.env.datafix_no_example = public_names(path)[1]


def _finish(app, env) -> None:
    missing = sorted(name for key, name in env.datafix_public.items() if key not in env.datafix_seen)
    for name in missing:
        logger.warning(f"public name {name} is missing from the API reference: add it to an autosummary "
                       "list in docs/api/", type="datafix", subtype="reference")


def _skip_member(app, what, name, obj, skip, options):
    """scikit-learn's generated metadata-routing methods (``set_fit_request``...) are not ours."""
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return None


def setup(app):
    app.add_config_value("datafix_public_list", str(API_LIST), "env")
    app.connect("autodoc-skip-member", _skip_member)
    app.connect("builder-inited", _start)
    app.connect("autodoc-process-docstring", _check_docstring)
    app.connect("env-check-consistency", _finish)
    return {"parallel_read_safe": False, "version": "1"}
