"""Parity: multi-instance session correctness checks for apps behind a load balancer."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
