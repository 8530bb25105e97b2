"""Checks: one module per issue type, each registered in :data:`CHECKS`.

The modules register in the order the report lists them.
"""
# ruff: noqa: I001 - import order is registration order

from datafix.checks import label_issues as _label_issues  # noqa: F401 - registers "label"
from datafix.checks import label_values as _label_values  # noqa: F401 - registers "label_values"
from datafix.checks import outliers as _outliers  # noqa: F401 - registers "outlier"
from datafix.checks import duplicates as _duplicates  # noqa: F401 - registers "duplicate"
from datafix.checks import tabular_quality as _tabular_quality  # noqa: F401 - registers "null"
from datafix.checks import imbalance as _imbalance  # noqa: F401 - registers "class_imbalance"
from datafix.checks import image_quality as _image_quality  # noqa: F401 - registers the image checks
from datafix.checks.duplicates import duplicate_groups, exact_duplicate_pairs
from datafix.checks.imbalance import effective_number
from datafix.checks.label_issues import find_label_issues, knn_label_votes
from datafix.checks.label_values import find_label_value_issues
from datafix.checks.leakage import find_leakage
from datafix.checks.registry import CHECKS, CheckSpec, list_checks, register_check, resolve_checks
from datafix.checks.tabular_quality import column_quality

__all__ = [
    "CHECKS",
    "CheckSpec",
    "column_quality",
    "duplicate_groups",
    "effective_number",
    "exact_duplicate_pairs",
    "find_label_issues",
    "find_label_value_issues",
    "find_leakage",
    "knn_label_votes",
    "list_checks",
    "register_check",
    "resolve_checks",
]
