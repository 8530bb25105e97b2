"""Sphinx configuration of datafix's documentation site (``make docs``).

The build is strict: warnings are errors (``-W`` in the Makefile) and cross-references are
nitpicky, so a broken reference, an example that raises or a public name whose docstring has no
example fails it with a message naming the culprit. References into other libraries (numpy,
pandas, torch, ...) are not checked: the build is offline and has no intersphinx inventories.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import datafix

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS))  # _ext.py: the public-name checks

project = "datafix"
author = "datafix developers"
copyright = "2026, datafix developers"
release = datafix.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
    "_ext",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "make_screenshots.py", "**/*.ipynb", "auto_examples/**/*.py",
                    "auto_examples/**/*.md5", "auto_examples/**/*.json", "auto_examples/**/*.zip"]
templates_path = ["_templates"]
nitpicky = True
# Other libraries' names in signatures and docstrings: not resolvable offline (no intersphinx).
nitpick_ignore_regex = [
    (r"py:.*", r"(numpy|np|pandas|pd|torch|sklearn|imblearn|cleanlab|albumentations|ray|faiss|PIL|pyarrow|"
               r"os|pathlib|collections|typing|typing_extensions|abc|enum|dataclasses|io|re|"
               r"numpy\.typing|matplotlib|timm|torchvision|triton)(\..*)?"),
    (r"py:class", r"(array-like|array_like|callable|optional|default|path-like|ArrayLike|NDArray|Tensor|"
                  r"DataFrame|Series|Module|Dataset|Sampler|DataLoader|Path|PathLike|Any|Iterable|Iterator|"
                  r"Sequence|Mapping|Callable|Literal|Generator|ndarray|dtype|device|Self)"),
    # Private base classes ("Bases: _Policy") are internal by design: shown, not linked.
    (r"py:class", r"datafix(\.\w+)*\._\w+"),
]

autosummary_generate = True
autosummary_imported_members = True
autodoc_typehints = "none"          # the numpydoc Parameters section says the types
autodoc_member_order = "bysource"
autodoc_default_options = {"inherited-members": False}
numpydoc_show_class_members = False  # the class template lists members with autodoc
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
# A documented parameter the signature does not have (a stale name, or a paragraph that fell
# into the Parameters section) is a warning, so an error under -W.
numpydoc_validation_checks = {"PR01", "PR02"}
# PR01 (a parameter left undocumented) for public functions and classes; methods and the plain
# records (whose Attributes section documents their fields) are left out of that check.
numpydoc_validation_exclude = {r"^datafix\.\w+\.\w+\.\w+", r"^datafix\.\w+\.\w+\.\w+\.\w+",
                               r"\.(Report|CheckOutcome|CheckSpec|CheckResult|InjectedData|LabelledImages|KNNGraph|"
                               r"HeldOutSet|ImageSignals|SynthQuality|SyntheticRows|Plan|PlanDataset|AugmentedBatch|"
                               r"InstanceBatch|PretrainedExtractor|Engine|Capabilities|AuditRequest|Prepared)$"}
# numpydoc drops a section it does not know ("Small classes") from the page, with only a Python
# warning: make it an error, which names the docstring.
warnings.filterwarnings("error", message="Unknown section", category=UserWarning)

myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence"]

html_theme = "pydata_sphinx_theme"
html_title = f"datafix {release}"
html_static_path: list[str] = []
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 6,
}
html_show_sourcelink = False


sphinx_gallery_conf = {
    "examples_dirs": str(DOCS.parent / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r".*\.py$",          # execute every example: none is skipped
    "ignore_pattern": r"(__init__|_common)\.py$",
    "abort_on_example_error": False,         # run them all, then fail the build naming each broken one
    "only_warn_on_example_error": False,
    "capture_repr": ("_repr_html_", "__repr__"),
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "doc_module": ("datafix",),
    "backreferences_dir": "api/generated/backreferences",
    "reference_url": {"datafix": None},
    "min_reported_time": 1,
    "show_memory": False,
    "run_stale_examples": False,
}
