"""The documentation site (issue 22): every public name in the API reference, and a build that
fails, naming the culprit, on a broken cross-reference, an example that raises, or a public name
without an example. The whole site is built by ``make docs`` (part of ``make test``)."""

import importlib
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
sys.path.insert(0, str(DOCS))
from _ext import public_names  # noqa: E402  (the build's own reading of tests/test_api.py's list)


def _documented() -> tuple[set[int], set[str], set[str]]:
    """Objects on autosummary lists, names of ``.. data::`` entries, and modules with a page."""
    objects, data, modules = set(), set(), set()
    for page in sorted((DOCS / "api").glob("*.rst")):
        text = page.read_text(encoding="utf-8")
        modules.update(re.findall(r"^\.\. automodule:: (\S+)", text, flags=re.M))
        module = None
        in_summary = False
        for line in text.splitlines():
            if line.startswith(".. currentmodule::"):
                module = line.split("::")[1].strip()
            elif line.startswith(".. autosummary::"):
                in_summary = True
            elif line.startswith(".. data::"):
                data.add(f"{module}.{line.split('::')[1].strip()}")
                in_summary = False
            elif in_summary and line.startswith("   ") and not line.strip().startswith(":") and line.strip():
                objects.add(id(getattr(importlib.import_module(module), line.strip())))
            elif line.strip() and not line.startswith(" "):
                in_summary = False
    return objects, data, modules


def test_every_public_name_is_on_a_page_of_the_api_reference():
    objects, data, modules = _documented()
    missing = []
    for module, names in public_names()[0].items():
        assert module in modules, f"docs/api has no page for {module}"
        mod = importlib.import_module(module)
        for name in names:
            obj = getattr(mod, name)
            if isinstance(obj, type(sys)):
                ok = obj.__name__ in modules
            elif callable(obj):
                ok = id(obj) in objects
            else:
                ok = f"{module}.{name}" in data
            if not ok:
                missing.append(f"{module}.{name}")
    assert not missing, f"public names missing from the API reference (docs/api/*.rst): {missing}"


def test_the_reference_check_sees_a_name_taken_off_a_page(tmp_path, monkeypatch):
    """The test above can fail: drop one entry from a copy of the pages and it is reported."""
    copy = tmp_path / "docs"
    (copy / "api").mkdir(parents=True)
    for page in (DOCS / "api").glob("*.rst"):
        text = page.read_text(encoding="utf-8")
        if page.name == "balance.rst":
            text = text.replace("   ClassBalancedSampler\n", "")
        (copy / "api" / page.name).write_text(text, encoding="utf-8")
    monkeypatch.setattr(sys.modules[__name__], "DOCS", copy)
    with pytest.raises(AssertionError, match=r"datafix\.balance\.ClassBalancedSampler"):
        test_every_public_name_is_on_a_page_of_the_api_reference()


# ---- the build's own checks, on a small copy of the site's configuration ----------------------

FAKE_MODULE = '''
"""A stand-in public module."""


def documented(x):
    """Return x.

    Parameters
    ----------
    x : int
        The value.

    Examples
    --------
    >>> documented(1)
    1
    """
    return x


def {second}(x):
    """Return x, twice.{example}"""
    return 2 * x
'''
EXAMPLE = '''"""
A fine example
==============

It prints.
"""

print("hello")
'''


def _site(tmp_path: Path, *, index_extra: str = "", example: str = EXAMPLE, second: str = "second",
          second_example: bool = True, second_listed: bool = True, second_doc: str = "") -> Path:
    """A small site with the real conf.py (theme, numpydoc, gallery, checks), a fake public list."""
    site = tmp_path / "site"
    (site / "api").mkdir(parents=True)
    (tmp_path / "examples").mkdir()
    (tmp_path / "examples" / "GALLERY_HEADER.rst").write_text("Examples\n========\n", encoding="utf-8")
    (tmp_path / "examples" / "plot_example.py").write_text(example, encoding="utf-8")
    second_doc = second_doc or "\n\n    Parameters\n    ----------\n    x : int\n        The value."
    example_text = second_doc + ("\n\n    Examples\n    --------\n    >>> 2 * 1\n    2\n    " if second_example else "")
    (tmp_path / "fakemod.py").write_text(FAKE_MODULE.format(second=second, example=example_text), encoding="utf-8")
    (tmp_path / "public.py").write_text(f"PUBLIC = {{'fakemod': ['documented', '{second}']}}\nNO_EXAMPLE = set()\n",
                                        encoding="utf-8")
    (site / "conf.py").write_text(textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(tmp_path)!r})
        sys.path.insert(0, {str(DOCS)!r})
        __file__ = {str(DOCS / 'conf.py')!r}
        exec(compile(open(__file__).read(), __file__, "exec"))
        templates_path = [{str(DOCS / '_templates')!r}]
        sphinx_gallery_conf["examples_dirs"] = {str(tmp_path / 'examples')!r}
        sphinx_gallery_conf["doc_module"] = ("fakemod",)
        sphinx_gallery_conf["reference_url"] = {{"fakemod": None}}
        datafix_public_list = {str(tmp_path / 'public.py')!r}
        """), encoding="utf-8")
    listed = f"   {second}\n" if second_listed else ""
    (site / "index.rst").write_text(f"Site\n====\n\n{index_extra}\n\n.. toctree::\n\n   api/fakemod\n   auto_examples/index\n",
                                    encoding="utf-8")
    (site / "api" / "fakemod.rst").write_text(
        ".. currentmodule:: fakemod\n\nfakemod\n=======\n\n.. autosummary::\n   :toctree: generated/\n\n"
        f"   documented\n{listed}", encoding="utf-8")
    return site


def _build(site: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sphinx", "-E", "-W", "--keep-going", "-n", "-q", "-b", "html",
                           str(site), str(site / "_build")], capture_output=True, text=True, timeout=300,
                          cwd=site)


@pytest.mark.slow
def test_a_clean_small_site_builds(tmp_path):
    done = _build(_site(tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.mark.slow
def test_a_broken_cross_reference_fails_the_build_and_is_named(tmp_path):
    done = _build(_site(tmp_path, index_extra="See :func:`fakemod.no_such_function`."))
    assert done.returncode != 0
    assert "fakemod.no_such_function" in done.stderr and "reference target not found" in done.stderr


@pytest.mark.slow
def test_an_example_that_raises_fails_the_build_and_is_named(tmp_path):
    broken = EXAMPLE + '\nraise RuntimeError("the example is broken")\n'
    done = _build(_site(tmp_path, example=broken))
    assert done.returncode != 0
    output = done.stdout + done.stderr
    assert "plot_example.py" in output and "the example is broken" in output


@pytest.mark.slow
def test_a_public_name_without_an_example_fails_the_build_and_is_named(tmp_path):
    done = _build(_site(tmp_path, second_example=False))
    assert done.returncode != 0
    assert "public name fakemod.second has no 'Examples' section" in done.stderr


@pytest.mark.slow
def test_a_documented_parameter_the_signature_lacks_fails_the_build(tmp_path):
    """A stale name (``seed`` after a rename to ``random_state``) or a paragraph that fell into
    the Parameters section shows as a wrong parameter on the page: numpydoc's PR02 check."""
    stale = "\n\n    Parameters\n    ----------\n    x : int\n        The value.\n    seed : int\n        Gone."
    done = _build(_site(tmp_path, second_doc=stale))
    assert done.returncode != 0
    assert "PR02" in done.stderr and "seed" in done.stderr


@pytest.mark.slow
def test_a_public_name_left_out_of_the_reference_fails_the_build_and_is_named(tmp_path):
    done = _build(_site(tmp_path, second_listed=False))
    assert done.returncode != 0
    assert "public name fakemod.second is missing from the API reference" in done.stderr


# ---- the user guide's code runs -------------------------------------------------------------

GUIDE = sorted((DOCS / "guide").glob("*.md"))


def _python_blocks(page: Path) -> list[str]:
    """The ```python blocks of a guide page (```sh, ```text and others are shown, not run)."""
    return re.findall(r"^```python\n(.*?)^```", page.read_text(encoding="utf-8"), flags=re.S | re.M)


def test_the_guide_has_a_page_per_job():
    names = {p.stem for p in GUIDE}
    assert {"auditing", "fixing", "rebalancing", "augmentation", "synthetic", "scale", "migrating"} <= names


def _page_param(page: Path):
    # the Ray page starts a local cluster: in the "ray" xdist group, never beside another one, and slow
    # the auditing and migrating pages audit real datasets (60-130 s in make check): slow too
    ray = [pytest.mark.xdist_group("ray"), pytest.mark.slow]
    marks = ray if page.stem == "scale" else [pytest.mark.slow] if page.stem in ("auditing", "migrating") else []
    return pytest.param(page, id=page.name, marks=marks)


@pytest.mark.parametrize("page", [_page_param(p) for p in GUIDE if _python_blocks(p)])
def test_the_code_of_a_guide_page_runs(page, tmp_path, monkeypatch):
    """Each page's blocks run in order in one namespace, as a reader would paste them."""
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__guide__"}
    for i, block in enumerate(_python_blocks(page)):
        try:
            exec(compile(block, f"{page.name}[block {i + 1}]", "exec"), namespace)
        except Exception as err:  # pragma: no cover - the message names the page and block
            raise AssertionError(f"{page.name}, python block {i + 1} raised {err!r}:\n{block}") from err
