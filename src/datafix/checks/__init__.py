"""Checks: one module per issue type, each registered in :data:`CHECKS`.

The modules register in the order the report lists them.
"""
# ruff: noqa: I001 - import order is registration order

from datafix.checks import label as _label  # noqa: F401 - registers "label"
from datafix.checks import label_values as _label_values  # noqa: F401 - registers "label_values"
from datafix.checks import outlier as _outlier  # noqa: F401 - registers "outlier"
from datafix.checks import duplicate as _duplicate  # noqa: F401 - registers "duplicate"
from datafix.checks import null as _null  # noqa: F401 - registers "null"
from datafix.checks import class_imbalance as _class_imbalance  # noqa: F401 - registers "class_imbalance"
from datafix.checks import image as _image  # noqa: F401 - registers the image checks
from datafix.checks import label_imbalance as _label_imbalance  # noqa: F401 - registers "label_imbalance"
from datafix.checks import annotators as _annotators  # noqa: F401 - registers "annotators"
from datafix.checks import unlabelled as _unlabelled  # noqa: F401 - registers "unlabelled"
from datafix.checks import leakage as _leakage  # noqa: F401 - registers "leakage" (on the test set)
from datafix.checks.class_imbalance import effective_number
from datafix.checks.duplicate import duplicate_groups, exact_duplicate_pairs
from datafix.checks.label import find_label_issues, find_multilabel_issues
from datafix.checks.label_values import find_label_value_issues
from datafix.checks.leakage import find_leakage
from datafix.checks.null import column_quality
from datafix.checks.registry import CHECKS, CheckResult, CheckSpec, list_checks, register_check, resolve_checks

__all__ = [
    "CHECKS",
    "CheckResult",
    "CheckSpec",
    "column_quality",
    "duplicate_groups",
    "effective_number",
    "exact_duplicate_pairs",
    "find_label_issues",
    "find_multilabel_issues",
    "find_label_value_issues",
    "find_leakage",
    "list_checks",
    "register_check",
    "resolve_checks",
]
