"""The audit past one machine: :func:`audit_ray` runs it on Ray Data (``pip install 'datafix[ray]'``).

Nothing here imports Ray until an audit runs, so ``import datafix`` works without it.
"""

from datafix.scale.ray_audit import SUPPORTED_CHECKS, audit_ray

__all__ = ["SUPPORTED_CHECKS", "audit_ray"]
