"""The audit past one machine: :func:`audit_ray` runs it on Ray Data (``pip install 'datafix[ray]'``);
:func:`apply_plan` applies a fix plan to the Ray Dataset, :func:`read_labels` reads a fixed
dataset's labels for the samplers.

Nothing here imports Ray until it runs, so ``import datafix`` works without it.
"""

from datafix.scale.plan import apply_plan, read_labels
from datafix.scale.ray_audit import SUPPORTED_CHECKS, audit_ray

__all__ = ["SUPPORTED_CHECKS", "apply_plan", "audit_ray", "read_labels"]
