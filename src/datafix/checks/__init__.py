"""Checks: one module per issue type, each registered in :data:`CHECKS`."""

from datafix.checks import label_issues as _label_issues  # noqa: F401 - registers "label"
from datafix.checks.label_issues import find_label_issues, knn_label_votes
from datafix.checks.registry import CHECKS, CheckSpec, list_checks, register_check, resolve_checks

__all__ = [
    "CHECKS",
    "CheckSpec",
    "find_label_issues",
    "knn_label_votes",
    "list_checks",
    "register_check",
    "resolve_checks",
]
