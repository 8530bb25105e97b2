"""The audit past one machine: :func:`audit_ray` (``datafix.audit(..., engine="ray")``, the engine
:class:`RayEngine`) runs it on Ray Data (``pip install 'datafix[ray]'``);
:func:`apply_plan` applies a fix plan to the Ray Dataset, :func:`read_labels` reads a fixed
dataset's labels for the samplers.

Nothing here imports Ray until it runs, so ``import datafix`` works without it.
"""

from datafix.scale.engine import RAY_CAPABILITIES, RayEngine, audit_ray
from datafix.scale.plan import apply_plan, read_labels

__all__ = ["RAY_CAPABILITIES", "RayEngine", "apply_plan", "audit_ray", "read_labels"]
