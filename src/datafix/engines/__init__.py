"""Where an audit runs: the :class:`Engine` protocol, its :class:`Capabilities`, the local engine,
and the one flow that drives any engine (:func:`run_audit`)."""

from datafix.engines.base import AuditRequest, Capabilities, Engine, Prepared
from datafix.engines.local import LocalEngine
from datafix.engines.run import run_audit

__all__ = ["AuditRequest", "Capabilities", "Engine", "LocalEngine", "Prepared", "run_audit"]
