"""fresh_visitors: every request from a new client with no cookies; measures distribution."""

from harness.loadgen.users import FreshVisitor, install

install()
__all__ = ["FreshVisitor"]
